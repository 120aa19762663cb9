#!/usr/bin/env python3
"""Issue 22's table from the TSV lines of ce_mix_check (validate / time) and peers.py.

    python3 benchmarks/gpu/summary.py FILE.tsv

Prints, per shape and dtype: the copy of the op's minimal bytes (median of the variants' processes), every fused
variant out of place and in place (ms and % of copy), the unfused baseline, PyTorch eager, torch.compile (its
compile seconds apart) and eager mix + Liger CE where measured; then the short table of the targets: the best
variant against 85% of copy (75% for the long rows 2x262144 and 4x300000), bf16 in place against 1.3x
torch.compile and 2x Liger. Validation failures are listed first.
"""
import statistics
import sys
from collections import defaultdict

SHAPES = ["8192x128256", "4096x151936", "16384x32000", "2x262144", "4x300000"]
LONG_ROWS = {"2x262144", "4x300000"}
VARIANTS = ["v1", "v2", "v3", "v4", "v5", "auto"]


def main(path):
    time_ms = {}                 # (impl, shape, dtype, mode) -> ms
    copy = defaultdict(list)     # (shape, dtype) -> copy ms from every timing process
    peers = {}                   # (impl, shape, dtype) -> (ms, compile s)
    validate = defaultdict(lambda: [0, 0])  # variant -> [ok, failed]
    failures = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "validate" and len(f) >= 7:
            ok = f[6] == "ok"
            validate[f[1]][0 if ok else 1] += 1
            if not ok:
                failures.append(" ".join(f[1:6]))
        elif f[0] == "time" and len(f) >= 7:
            time_ms[(f[1], f[2], f[3], f[4])] = float(f[5])
            copy[(f[2], f[3])].append(float(f[6]))
        elif f[0] == "peer" and len(f) >= 6:
            peers[(f[1], f[2], f[3])] = (float(f[4]), float(f[5]))

    print("## Validation (every variant against the CPU kernel, NaN/+inf status included)\n")
    print("| variant | checks passed | failed |\n|---|---:|---:|")
    for v in sorted(validate):
        print(f"| {v} | {validate[v][0]} | {validate[v][1]} |")
    for f in failures[:40]:
        print(f"- FAIL {f}")
    if not validate:
        print("(no validation results)")

    def pct(c, t):
        return f"{100 * c / t:.0f}%" if c and t else "-"

    print("\n## All timings (median ms; % = copy / time, the share of the copy's bandwidth reached)\n")
    impls = [v for v in VARIANTS if any(k[0] == v for k in time_ms)] + (["unfused"] if any(k[0] == "unfused" for k in time_ms) else [])
    print("| shape | dtype | mode | copy | " + " | ".join(impls) + " |")
    print("|---|---|---|---:|" + "---:|" * len(impls))
    for s in SHAPES:
        for d in ("bf16", "f32"):
            c = statistics.median(copy[(s, d)]) if copy[(s, d)] else None
            for m in ("out", "in"):
                cells = []
                for i in impls:
                    t = time_ms.get((i, s, d, m))
                    cells.append(f"{t:.3f} ({pct(c, t)})" if t else "-")
                if any(x != "-" for x in cells):
                    print(f"| {s} | {d} | {m} | " + (f"{c:.3f}" if c else "-") + " | " + " | ".join(cells) + " |")

    print("\n## Peers (loss + both gradients)\n")
    print("| shape | dtype | eager | torch.compile (compile s) | eager mix + Liger CE |\n|---|---|---:|---:|---:|")
    for s in SHAPES:
        for d in ("bf16", "f32"):
            e, co, li = (peers.get((i, s, d)) for i in ("eager", "compile", "liger"))
            if e or co or li:
                print(f"| {s} | {d} | " + (f"{e[0]:.3f}" if e else "-") + " | "
                      + (f"{co[0]:.3f} ({co[1]:.0f} s)" if co else "-") + " | " + (f"{li[0]:.3f}" if li else "-") + " |")

    print("\n## Issue 22 targets: best variant vs copy and peers\n")
    print("| shape | dtype | copy ms | best out of place | best in place | % of copy (target) | eager | compile | Liger "
          "| in place vs compile | vs Liger |\n|---|---|---:|---|---|---|---:|---:|---:|---:|---:|")
    for s in SHAPES:
        for d in ("bf16", "f32"):
            c = statistics.median(copy[(s, d)]) if copy[(s, d)] else None
            best = {}
            for m in ("out", "in"):
                cand = [(time_ms[(v, s, d, m)], v) for v in VARIANTS if (v, s, d, m) in time_ms]
                best[m] = min(cand) if cand else None
            if not c and not any(best.values()):
                continue
            target = 75 if s in LONG_ROWS else 85
            worst = min((100 * c / b[0] for b in best.values() if b), default=0) if c else 0
            verdict = f"{worst:.0f}% ({'met' if worst >= target else 'MISSED'} >= {target}%)" if c else "-"
            e, co, li = (peers.get((i, s, d)) for i in ("eager", "compile", "liger"))
            bi = best["in"]
            vs_c = "-"
            if co and bi:
                vs_c = f"{co[0] / bi[0]:.2f}x"
                if d == "bf16":
                    vs_c += " (>= 1.3x: " + ("met" if co[0] / bi[0] >= 1.3 else "MISSED") + ")"
            vs_l = f"{li[0] / bi[0]:.2f}x" if li and bi else "-"
            cell = lambda b: f"{b[1]} {b[0]:.3f}" if b else "-"
            ms = lambda p: f"{p[0]:.3f}" if p else "-"
            cs = f"{c:.3f}" if c else "-"
            print(f"| {s} | {d} | {cs} | {cell(best['out'])} | {cell(best['in'])} | {verdict} | {ms(e)} | {ms(co)} | "
                  f"{ms(li)} | {vs_c} | {vs_l} |")

if __name__ == "__main__":
    main(sys.argv[1])
