#!/usr/bin/env bash
# Whole training step, wmss-native vs PyTorch eager: the 9.4M-parameter decoder of benchmarks/model/model-10m.json
# on 8 x 128 tokens, fp32, WD-JT (two models, both trained) and SFT. wmss-native: wdjt_step (the C ABI the Java
# trainer calls; Java adds ~1%, benchmarks/run-model.sh) with the fused head and with full logits, alternating step
# by step; PyTorch: benchmarks/model/torch_twin.py (Debian python3-torch 1.13, F.cross_entropy on the mixed logits,
# torch.optim.AdamW, clip_grad_norm_). Both sides get the same threads under each policy:
#   passive  OMP_WAIT_POLICY=PASSIVE, intra-op threads = cores (wmss-native's default from Java)
#   spin     OpenMP's default wait (spin, then sleep), intra-op threads = cores (PyTorch's default)
#   one      one intra-op thread (OpenBLAS keeps its pool of cores)
# Options (environment): POLICIES ("passive spin one"), ROUNDS (2), STEPS (10), THREADS (nproc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
if ! /usr/bin/python3 -c "import torch" 2> /dev/null; then
  echo "run-step.sh needs Debian's python3-torch for the twin: apt-get install -y python3-torch" >&2
  exit 1
fi
wmss_mvn -q install -DskipTests | sed 's/\x1b\[[0-9;]*m//g'
cmake --build java/natives/target/cmake --target wmss_wdjt_step > /dev/null
bin=java/natives/target/cmake/wmss_wdjt_step
threads=${THREADS:-$(nproc)}
steps=${STEPS:-10}
rounds=${ROUNDS:-2}
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
out=$(mktemp)
for policy in ${POLICIES:-passive spin one}; do
  case $policy in
    passive) envs=(OMP_WAIT_POLICY=PASSIVE); n=$threads ;;
    spin) envs=(-u OMP_WAIT_POLICY); n=$threads ;;
    one) envs=(OMP_WAIT_POLICY=PASSIVE); n=1 ;;
    *) echo "unknown policy $policy" >&2; exit 2 ;;
  esac
  for round in $(seq "$rounds"); do
    for mode in wdjt sft; do
      flag=(); [ $mode = sft ] && flag=(--sft)
      env "${envs[@]}" "$bin" --head fused,full --threads "$n" --steps "$steps" --warmup 3 --peak "${flag[@]}" \
        | sed "s/^/policy=$policy round=$round mode=$mode side=wmss /" | tee -a "$out"
      env "${envs[@]}" /usr/bin/python3 benchmarks/model/torch_twin.py --threads "$n" --steps "$steps" --warmup 3 "${flag[@]}" \
        | sed "s/^/policy=$policy round=$round mode=$mode /" | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1])]
def ms(p, m, head):
    return [float(r["ms_median"]) for r in rows if r["policy"] == p and r["mode"] == m and r["head"] == head]
print()
print("| policy | step | intra-op | wmss fused ms | wmss full ms | PyTorch eager ms | PyTorch / fused | full / fused | MFU fused |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for p in dict.fromkeys(r["policy"] for r in rows):
    for m in ("wdjt", "sft"):
        f, u, t = ms(p, m, "fused"), ms(p, m, "full"), ms(p, m, "eager")
        if not f:
            continue
        # ratios per round (the sides ran back to back), then their median
        speedup = statistics.median(tt / ff for tt, ff in zip(t, f))
        full = statistics.median(uu / ff for uu, ff in zip(u, f))
        r = next(r for r in rows if r["policy"] == p and r["mode"] == m and r["head"] == "fused")
        mfus = [float(x["mfu"]) for x in rows if x["policy"] == p and x["mode"] == m and x["head"] == "fused"]
        print(f"| {p} | {'WD-JT' if m == 'wdjt' else 'SFT'} | {r['intra_op']} | {statistics.median(f):.0f} | "
              f"{statistics.median(u):.0f} | {statistics.median(t):.0f} | {speedup:.2f}x | {full:.2f}x | "
              f"{100 * statistics.median(mfus):.1f}% |")
peaks = [float(r["sgemm_gflops"]) for r in rows if r.get("side") == "wmss"]
print()
print(f"ms: medians over rounds of each run's median step; ratios: per round, then the median; "
      f"{len(set((r['policy'], r['round']) for r in rows))} policy-rounds; sgemm peak (at::mm 2048^3, measured per run) "
      f"median {statistics.median(peaks):.1f} GFLOP/s")
PY
rm -f "$out"
