#!/usr/bin/env python3
"""ZeRO stage 1 on the CPU, measured: each rank's peak RSS and the step time of SFT on 2 ranks, --zero 0 and 1.

Two ranks (torchrun's variables, Gloo on loopback, OMP_NUM_THREADS=1 each) train a Qwen3-shaped model of about 68M
parameters for a few steps; the peak RSS of each rank is its process's (wait4's ru_maxrss), with the project's CPU
allocator cache off and large blocks returned to the system when freed, so that the peak is what is live. ZeRO 1
shards AdamW's moments (8 bytes per parameter) over the ranks: the saving per rank expected is 8 x params x (1 - 1/2).
The step time is the median of metrics.jsonl's ms after the first step. Prints a Markdown table for RESULTS.md.
Usage: python3 benchmarks/run-zero.py [--quick]   (needs target/wmss-native.jar: ./wmss.sh build)
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
H, I, LAYERS, HEADS, KV, HD, V = 768, 2304, 8 if not QUICK else 4, 12, 4, 64, 16384
WORLD, BATCH, MAXLEN, EXAMPLES = 2, 4, 64, 24 if not QUICK else 12
WORK = os.path.join(ROOT, "target", "bench-zero")


def java():
    home = subprocess.run(["bash", "-c", f"source '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                          capture_output=True, text=True).stdout.strip()
    return [os.path.join(home, "bin", "java"), "--enable-native-access=ALL-UNNAMED", "-jar",
            os.path.join(ROOT, "target", "wmss-native.jar")]


def params():
    layer = 2 * H * HEADS * HD + 2 * H * KV * HD + 3 * H * I + 2 * H + 2 * HD
    return LAYERS * layer + V * H + H


def setup():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    cfg = os.path.join(WORK, "config.json")
    with open(cfg, "w") as f:
        json.dump({"model_type": "qwen3", "vocab_size": V, "hidden_size": H, "intermediate_size": I,
                   "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV, "head_dim": HD,
                   "tie_word_embeddings": True, "max_position_embeddings": 4096}, f)
    subprocess.run(java() + ["init", "--config", cfg, "--out", os.path.join(WORK, "m0")], check=True,
                   capture_output=True)
    with open(os.path.join(WORK, "data.jsonl"), "w") as f:
        for i in range(EXAMPLES):
            f.write(json.dumps({"prompt": f"{i} + {i} = ", "response": str(2 * i)}) + "\n")


def ranks(zero):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(WORK, f"zero{zero}")
    cmd = java() + ["sft", "--model", os.path.join(WORK, "m0"), "--data", os.path.join(WORK, "data.jsonl"), "--batch",
                    str(BATCH), "--max-len", str(MAXLEN), "--checkpoint-every", "0", "--log-every", "1", "--zero", str(zero),
                    "--out", out]
    procs = []
    for r in range(WORLD):
        env = dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(WORLD), LOCAL_WORLD_SIZE=str(WORLD),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1", WMSS_TORCH_CACHE_MB="0",
                   MALLOC_MMAP_THRESHOLD_="131072")
        log = open(os.path.join(WORK, f"zero{zero}-rank{r}.log"), "w")
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
    peaks = {}
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f"--zero {zero}: a rank failed, see {WORK}/zero{zero}-rank*.log")
        peaks[procs.index(p)] = usage.ru_maxrss * 1024
    steps = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    return peaks, statistics.median(s["ms"] for s in steps[1:]), len(steps)


def main():
    t0 = time.time()
    setup()
    r = {z: ranks(z) for z in (0, 1)}
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    psi = params()
    print(f"### ZeRO stage 1, CPU ({time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, commit {sha})")
    print(f"Command: `python3 benchmarks/run-zero.py{' --quick' if QUICK else ''}` — SFT on {WORLD} ranks (Gloo, one thread"
          f" each) of a Qwen3-shaped model of {psi / 1e6:.1f}M parameters (hidden {H}, {LAYERS} layers, vocabulary {V}),"
          f" fp32, global batch {BATCH} x {MAXLEN} tokens, {r[0][2]} steps.\n")
    print("| --zero | rank 0 peak RSS MiB | rank 1 peak RSS MiB | step ms (median) |")
    print("|---:|---:|---:|---:|")
    for z in (0, 1):
        peaks, ms, _ = r[z]
        print(f"| {z} | {peaks[0] / 2**20:.0f} | {peaks[1] / 2**20:.0f} | {ms:.0f} |")
    saved = [(r[0][0][k] - r[1][0][k]) / 2**20 for k in range(WORLD)]
    expected = 8 * psi * (1 - 1 / WORLD) / 2**20
    print(f"\nSaved per rank by ZeRO 1: **{saved[0]:.0f} and {saved[1]:.0f} MiB**, expected {expected:.0f} MiB (the moments,"
          f" 8 bytes x {psi / 1e6:.1f}M parameters x (1 - 1/{WORLD})); step time **{r[1][1] / r[0][1]:.2f}x** ZeRO 0's"
          f" (the parameters all-gathered after each step). ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
