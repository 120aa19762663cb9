#!/usr/bin/env python3
"""Turns a JMH JSON result (benchmarks/run.sh) into the Markdown section of benchmarks/RESULTS.md.

GB/s counts the minimal traffic of ce_mix: both logit matrices read once and both gradients written once,
4 * N * V * sizeof(dtype) bytes (in place too: the gradients overwrite the logits); the copy benchmark's traffic is
read + write = 2 * bytes. Ratios ("fused is k x faster") compare rows of the same run.
"""
import json
import statistics
import sys

SIZE = {"F32": 4, "BF16": 2}
ORDER = ["cpu-fused", "cpu-unfused", "libtorch", "djl", "java"]


def median_and_spread(result):
    raw = [x for fork in result["primaryMetric"]["rawData"] for x in fork]
    return statistics.median(raw), min(raw), max(raw)


def main(path, header):
    results = json.load(open(path))
    copy_gbs = None
    rows = {}
    for r in results:
        name = r["benchmark"].rsplit(".", 1)[0].rsplit(".", 1)[-1]
        med, lo, hi = median_and_spread(r)
        p = r.get("params", {})
        if name == "CopyBenchmark":
            copy_gbs = 2 * int(p["bytes"]) / (med * 1e6)
            continue
        if name == "CeMixBenchmark":
            backend, mode = p["backend"], p["mode"]
        elif name == "DjlCeMixBenchmark":
            backend, mode = "djl", "out-of-place"
        else:
            continue
        n, v = (int(x) for x in p["shape"].split("x"))
        traffic = 4 * n * v * SIZE[p["dtype"]]
        rows[(p["shape"], p["dtype"], backend, mode)] = (med, lo, hi, traffic / (med * 1e6))
    out = [header, ""]
    if copy_gbs:
        out += [f"Copy bandwidth (wmss_copy, 512 MiB, read + write): **{copy_gbs:.1f} GB/s**", ""]
        warnings = sanity(results, rows, copy_gbs)
        out += [f"**Warning:** {w}" for w in warnings] + ([""] if warnings else [])
        for w in warnings:
            print("benchmarks: warning: " + w, file=sys.stderr)
    out.append("| N x V | dtype | backend | mode | median ms | min–max ms | GB/s | % of copy | fused is |")
    out.append("|---|---|---|---|---:|---:|---:|---:|---:|")
    key_order = lambda k: (k[0], k[1], k[3] != "out-of-place", ORDER.index(k[2]) if k[2] in ORDER else 9)
    for key in sorted(rows, key=key_order):
        med, lo, hi, gbs = rows[key]
        fused = rows.get((key[0], key[1], "cpu-fused", key[3]))
        ratio = "–" if key[2] == "cpu-fused" or not fused else f"{med / fused[0]:.2f}x faster"
        pct = f"{100 * gbs / copy_gbs:.0f}%" if copy_gbs else "–"
        out.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {med:.2f} | {lo:.2f}–{hi:.2f} | {gbs:.2f} | {pct} | {ratio} |")
    out += floor_table(rows, copy_gbs)
    print("\n".join(out))


RESIDENT = "16x16000"


def sanity(results, rows, copy_gbs):
    """What makes this run's ratios to the copy untrustworthy: a copy whose measurements spread widely (measured under
    load), and a kernel that streams more than the copy does (no kernel moves the same bytes faster than a copy: the
    copy was measured low)."""
    out = []
    for r in results:
        if r["benchmark"].endswith("CopyBenchmark.copy") or "CopyBenchmark" in r["benchmark"]:
            med, lo, hi = median_and_spread(r)
            if med > 0 and (hi - lo) / med > 0.2:
                out.append(f"the copy's measurements spread {100 * (hi - lo) / med:.0f}% around their median (the machine "
                           "was busy?): the '% of copy' column is not reliable; rerun on an idle machine")
    for key, (med, lo, hi, gbs) in rows.items():
        if key[0] != RESIDENT and gbs > 1.02 * copy_gbs:
            out.append(f"{key[2]} {key[1]} {key[0]} {key[3]} streams {100 * gbs / copy_gbs:.0f}% of the copy's bandwidth: "
                       "the copy was measured low (under load?), so every '% of copy' here reads high; rerun on an idle machine")
    return out


def floor_table(rows, copy_gbs):
    """The fused kernel's time per element with its data in cache (the compute floor) against the time per element
    that 85% of the copy bandwidth allows: floor / budget > 1 means the target cannot be met on this machine by
    memory traffic alone, the arithmetic has to get cheaper."""
    if not copy_gbs or not any(k[0] == RESIDENT and k[2] == "cpu-fused" for k in rows):
        return []  # the resident shape was filtered out of this run: no table rather than an empty one
    out = ["", f"Compute floor: the fused kernel on {RESIDENT} (inputs and gradients stay in cache between calls) "
           "against the 85%-of-copy budget for the same element count:", "",
           "| dtype | mode | floor ns / element | 85% budget ns / element | floor / budget |",
           "|---|---|---:|---:|---:|"]
    n, v = (int(x) for x in RESIDENT.split("x"))
    for dtype in ("F32", "BF16"):
        for mode in ("out-of-place", "in-place"):
            r = rows.get((RESIDENT, dtype, "cpu-fused", mode))
            if not r:
                continue
            floor_ns = r[0] * 1e6 / (n * v)
            budget_ns = 4 * SIZE[dtype] / (0.85 * copy_gbs)
            out.append(f"| {dtype} | {mode} | {floor_ns:.3f} | {budget_ns:.3f} | {floor_ns / budget_ns:.2f} |")
    return out


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
