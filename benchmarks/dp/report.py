#!/usr/bin/env python3
"""Summarises benchmarks/run-dp.sh: per run the median tok/s, ms per step and exposed all-reduce ms (comm_ms) over
the steps after the first 2 (warm-up), the job's CPU seconds (user + system, all JVMs, start-up included) and
per round the scaling efficiency tok/s(2) / (2 * tok/s(1))."""
import json
import statistics
import sys

WARMUP = 2


def summary(run):
    rows = [json.loads(l) for l in open(run + "/metrics.jsonl")][WARMUP:]
    med = lambda k: statistics.median(r[k] for r in rows) if rows and k in rows[0] else float("nan")
    wall, user, system = (float(x) for x in open(run + ".time").read().split()[-3:])
    return med("tok_s"), med("ms"), med("comm_ms"), len(rows), user + system


def main(work, rounds):
    print("| round | ranks | tok/s (median) | ms/step | exposed all-reduce ms/step | steps | CPU s (job) | efficiency |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in range(1, rounds + 1):
        one = summary(f"{work}/r{r}-1rank")
        two = summary(f"{work}/r{r}-2ranks")
        print(f"| {r} | 1 | {one[0]:.0f} | {one[1]:.0f} | – | {one[3]} | {one[4]:.0f} | |")
        print(f"| {r} | 2 | {two[0]:.0f} | {two[1]:.0f} | {two[2]:.1f} | {two[3]} | {two[4]:.0f} | {two[0] / (2 * one[0]):.0%} |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
