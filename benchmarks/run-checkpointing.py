#!/usr/bin/env python3
"""Layer activation checkpointing on the CPU, measured: memory per token per layer and step time, off and on.

Runs `bench-step` (WD-JT of two models, both trained, fused head) on a small Qwen3-shaped config at two layer counts
and two sequence lengths, with checkpointing off and on, and derives from the peaks of the project's CPU allocator
(the peak RSS, with the allocator's cache off and large blocks returned to the system when freed; a double
difference, so that what grows with the layers alone, the model state, and with the tokens alone, the head, cancel):
  activation bytes per token per layer = [P(L2, T2) - P(L2, T1) - P(L1, T2) + P(L1, T1)] / ((L2 - L1) (T2 - T1) B x 2 models)
Prints a Markdown table for benchmarks/RESULTS.md.   Usage: python3 benchmarks/run-checkpointing.py [--quick]
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
H, I, HEADS, KV, HD, V = 256, 768, 4, 2, 64, 8192
LAYERS = (2, 4) if QUICK else (2, 6)
BATCH = 2
SEQS = (256, 512) if QUICK else (512, 1024)
STEPS = 2 if QUICK else 4


def config(layers):
    return {"model_type": "qwen3", "vocab_size": V, "hidden_size": H, "intermediate_size": I, "num_hidden_layers": layers,
            "num_attention_heads": HEADS, "num_key_value_heads": KV, "head_dim": HD, "tie_word_embeddings": True}


def layer_params():
    return 2 * H * HEADS * HD + 2 * H * KV * HD + 3 * H * I + 2 * H + 2 * HD


def java():
    out = subprocess.run(["bash", "-c", f"source '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                         capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "bin", "java")


def bench(layers, seq, ckpt):
    path = os.path.join(ROOT, "target", f"ckpt-config-{layers}.json")
    with open(path, "w") as f:
        json.dump(config(layers), f)
    cmd = [java(), "--enable-native-access=ALL-UNNAMED", "-jar", os.path.join(ROOT, "target", "wmss-native.jar"),
           "bench-step", "--device", "cpu", "--config", path, "--batch", str(BATCH), "--seq", str(seq), "--steps",
           str(STEPS), "--activation-checkpointing", "on" if ckpt else "off"]
    # memory as the process holds it (the peak RSS): the allocator's cache off and large blocks returned to the system
    # when freed, so that the peak is what is live, not what a cache or malloc kept
    env = dict(os.environ, WMSS_TORCH_CACHE_MB="0", MALLOC_MMAP_THRESHOLD_="131072")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit("bench-step failed:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    return json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])


def main():
    t0 = time.time()
    r = {(L, T, c): bench(L, T, c) for L in LAYERS for T in SEQS for c in (False, True)}
    dl, dt = LAYERS[1] - LAYERS[0], SEQS[1] - SEQS[0]
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"### Layer activation checkpointing, CPU ({time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, commit {sha})")
    print(f"Command: `python3 benchmarks/run-checkpointing.py{' --quick' if QUICK else ''}` — bench-step, WD-JT of two "
          f"Qwen3-shaped models (hidden {H}, intermediate {I}, {HEADS}/{KV} heads of {HD}, vocabulary {V}), both trained, "
          f"fp32, batch {BATCH}, {STEPS} timed steps; layers {LAYERS[0]} and {LAYERS[1]}, sequences of {SEQS[0]} and {SEQS[1]}.\n")
    print("| checkpointing | layers | tokens | peak MiB | step ms (median) |")
    print("|---|---:|---:|---:|---:|")
    per = {}
    for c in (False, True):
        p = lambda L, T: r[(L, T, c)]["peak_bytes"]
        per[c] = (p(LAYERS[1], SEQS[1]) - p(LAYERS[1], SEQS[0]) - p(LAYERS[0], SEQS[1]) + p(LAYERS[0], SEQS[0])) \
            / (dl * dt * BATCH * 2)
        for L in LAYERS:
            for T in SEQS:
                x = r[(L, T, c)]
                print(f"| {'on' if c else 'off'} | {L} | {BATCH * T} | {x['peak_bytes'] / 2**20:.0f} | {x['ms_per_step']:.0f} |")
    big = (LAYERS[1], SEQS[1])
    ratio = r[big + (True,)]["ms_per_step"] / r[big + (False,)]["ms_per_step"]
    print(f"\nActivations per token per layer: **{per[False]:.0f} bytes off, {per[True]:.0f} on** "
          f"({per[False] / H:.1f} and {per[True] / H:.1f} x hidden; a layer's fp32 input is 4 x hidden = {4 * H} bytes); "
          f"step time at {LAYERS[1]} layers x {BATCH * SEQS[1]} tokens: **{ratio:.2f}x** with checkpointing. "
          f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
