#!/usr/bin/env bash
# Data-parallel scaling of training: tokens/s of SFT on the ~10M-parameter model (benchmarks/model/model-10m.json)
# at 1 rank and at 2 ranks (wmss-native launch, Gloo on loopback), OMP_NUM_THREADS=1 per rank, the same global
# batch (--batch 8 --accum 2: one rank runs 2 micro-batches of 8, each of 2 ranks one), alternated for ROUNDS rounds.
# Prints per run the median tok/s and ms over the steps after the first WARMUP, the exposed all-reduce time per
# step (comm_ms: time in the gradient sync not hidden behind backward) and the scaling efficiency
# tok/s(2 ranks) / (2 x tok/s(1 rank)) of each round, and the CPU seconds each job used (user + system, every
# JVM; on a machine shared with other work the wall-clock numbers only mean something next to the load average).
#   benchmarks/run-dp.sh [EXAMPLES=320] [ROUNDS=2]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
examples=${1:-320}
rounds=${2:-2}
[ -f target/wmss-native.jar ] || wmss_mvn -q install -DskipTests | sed 's/\x1b\[[0-9;]*m//g'
export WMSS_CACHE_DIR="$root/target/wmss-cache"
work="$root/target/bench-dp"
rm -rf "$work" && mkdir -p "$work"
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED)
"${java[@]}" -cp target/wmss-native.jar benchmarks/dp/Setup.java benchmarks/model/model-10m.json "$work" "$examples"
sft=(sft --model "$work/m0" --data "$work/data.jsonl" --batch 8 --accum 2 --max-len 128 --log-every 5 --checkpoint-every 0)
export OMP_NUM_THREADS=1
TIMEFORMAT='%R %U %S' # wall, user and system seconds of the whole job (every JVM, start-up included)
uptime
for round in $(seq 1 "$rounds"); do
  echo "== round $round: 1 rank"
  { time "${java[@]}" -jar target/wmss-native.jar "${sft[@]}" --out "$work/r$round-1rank" > "$work/r$round-1rank.log" 2>&1; } \
    2> "$work/r$round-1rank.time"
  grep -E "step .*/" "$work/r$round-1rank.log" | tail -1
  echo "== round $round: 2 ranks"
  { time "${java[@]}" -jar target/wmss-native.jar launch --nproc 2 -- "${sft[@]}" --out "$work/r$round-2ranks" \
      > "$work/r$round-2ranks.log" 2>&1; } 2> "$work/r$round-2ranks.time"
  grep -E "step .*/" "$work/r$round-2ranks.log" | tail -1
done
uptime
python3 benchmarks/dp/report.py "$work" "$rounds"
