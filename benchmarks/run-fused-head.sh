#!/usr/bin/env bash
# The fused head vs full logits at a real vocabulary: a WD-JT step of two Qwen3-shaped models (Qwen3-0.6B's widths,
# vocabulary 151,936, tied head, 2 layers so that it fits a small machine) on the CPU, both models trained.
#   time:   full and fused alternate step by step in one process (same models, same math)
#   memory: one process per head; the peak resident memory of a step, minus that of the same step without a head
#           ("body": forward to the final norm, backward from zero), is the memory of the loss part
# Options (environment): BATCH (2), SEQ (1024), STEPS (2), CHUNK_MB (320), CONFIG (benchmarks/model/qwen3-shaped.json)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
wmss_mvn -q install -DskipTests | sed 's/\x1b\[[0-9;]*m//g'
cmake --build java/natives/target/cmake --target wmss_wdjt_step > /dev/null
bin=java/natives/target/cmake/wmss_wdjt_step
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
args=(--config "${CONFIG:-benchmarks/model/qwen3-shaped.json}" --batch "${BATCH:-2}" --seq "${SEQ:-1024}"
      --chunk-mb "${CHUNK_MB:-320}")
steps=${STEPS:-2}
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) on $(nproc) cores, OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
echo "# $bin ${args[*]}"
out=$(mktemp)
"$bin" "${args[@]}" --head full,fused --steps "$steps" --warmup 1 --peak | tee -a "$out"
for h in full fused body; do "$bin" "${args[@]}" --head "$h" --steps "$steps" --warmup 1 | sed 's/^/memory /' | tee -a "$out"; done
python3 - "$out" <<'PY'
import sys
rows = [dict(kv.split("=", 1) for kv in line.replace("memory ", "memory=1 ").split()) for line in open(sys.argv[1])]
timed = {r["head"]: r for r in rows if "memory" not in r}
mem = {r["head"]: r for r in rows if "memory" in r}
f, u = timed["fused"], timed["full"]
body = float(mem["body"]["step_peak_mib"])
print()
print(f"WD-JT step, {f['tokens']} tokens, vocab {f['vocab']}, {f['params']} parameters per model, chunk {f['chunk_mb']} MiB, "
      f"{f['intra_op']} intra-op threads")
print()
print("| head | step ms (median) | min–max ms | MFU | step peak RSS MiB | loss part MiB (peak − body peak) |")
print("|---|---:|---:|---:|---:|---:|")
for h in ("full", "fused"):
    t, m = timed[h], mem[h]
    print(f"| {h} | {float(t['ms_median']):.0f} | {float(t['ms_min']):.0f}–{float(t['ms_max']):.0f} | "
          f"{100 * float(t['mfu']):.1f}% | {float(m['step_peak_mib']):.0f} | {float(m['step_peak_mib']) - body:.0f} |")
print(f"| body only | | | | {body:.0f} | 0 |")
lf, lu = float(mem["fused"]["step_peak_mib"]) - body, float(mem["full"]["step_peak_mib"]) - body
print()
print(f"fused / full step time: {float(f['ms_median']) / float(u['ms_median']):.3f} (target <= 1.05); "
      f"loss-part memory full / fused: {lu / max(lf, 1):.1f}x (target >= 10x); sgemm peak {float(f['sgemm_gflops']):.1f} GFLOP/s")
PY
rm -f "$out"
