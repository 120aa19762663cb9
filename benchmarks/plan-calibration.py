#!/usr/bin/env python3
"""The memory planner against measurements on the CPU: bench-step (WD-JT of two Qwen3-shaped models, both trained,
fp32) on a grid of layers, lengths and checkpointing, its peak RSS beside `plan`'s host bytes per rank for the same run.
Prints a Markdown table (measured, planned, planned / measured) for benchmarks/RESULTS.md.
Usage: python3 benchmarks/plan-calibration.py [--quick]
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
GRID = [  # hidden, intermediate, heads, kv heads, head dim, vocab, layers, batch, seq, checkpointing
    (256, 768, 4, 2, 64, 8192, 2, 2, 512, False),
    (256, 768, 4, 2, 64, 8192, 6, 2, 1024, False),
    (256, 768, 4, 2, 64, 8192, 6, 2, 1024, True),
    (512, 1536, 8, 4, 64, 32000, 4, 4, 512, False),
    (512, 1536, 8, 4, 64, 32000, 8, 2, 1024, True),
    (384, 1024, 6, 2, 64, 16384, 4, 8, 256, False),
]
if QUICK:
    GRID = GRID[:3]


def java():
    home = subprocess.run(["bash", "-c", f"source '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                          capture_output=True, text=True).stdout.strip()
    return [os.path.join(home, "bin", "java"), "--enable-native-access=ALL-UNNAMED", "-jar",
            os.path.join(ROOT, "target", "wmss-native.jar")]


def run(args):
    out = subprocess.run(java() + args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(" ".join(args) + " failed:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    return out.stdout


def main():
    t0 = time.time()
    rows = []
    for h, i, nh, kv, hd, v, layers, batch, seq, ckpt in GRID:
        cfg = {"model_type": "qwen3", "vocab_size": v, "hidden_size": h, "intermediate_size": i, "num_hidden_layers": layers,
               "num_attention_heads": nh, "num_key_value_heads": kv, "head_dim": hd, "tie_word_embeddings": True}
        path = os.path.join(ROOT, "target", "plan-calibration.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        onoff = "on" if ckpt else "off"
        measured = json.loads([l for l in run(["bench-step", "--device", "cpu", "--config", path, "--batch", str(batch),
                                                "--seq", str(seq), "--steps", "2", "--activation-checkpointing", onoff])
                               .splitlines() if l.startswith("{")][-1])["peak_bytes"]
        plan = json.loads(run(["plan", "--strong", path, "--weak", path, "--max-len", str(seq), "--batch", str(batch),
                               "--device", "cpu", "--activation-checkpointing", onoff, "--json"]))
        planned = plan["host_bytes_per_rank"]
        rows.append((f"h{h} i{i} L{layers} V{v}", batch * seq, onoff, measured, planned))
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"### The memory planner against the CPU ({time.strftime('%Y-%m-%d')}, commit {sha})")
    print(f"Command: `python3 benchmarks/plan-calibration.py{' --quick' if QUICK else ''}` — bench-step (WD-JT, two Qwen3-shaped"
          " models, both trained, fp32, fused head of 320 MiB) peak RSS against `plan --json`'s host_bytes_per_rank.\n")
    print("| models | tokens | checkpointing | measured peak | planned | planned / measured |")
    print("|---|---:|---|---:|---:|---:|")
    worst = 0
    for name, tokens, onoff, m, p in rows:
        worst = max(worst, abs(p / m - 1))
        print(f"| {name} | {tokens} | {onoff} | {m / 2**20:.0f} MiB | {p / 2**20:.0f} MiB | {p / m:.3f} |")
    print(f"\nLargest error: {100 * worst:.1f}% ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
