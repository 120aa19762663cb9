#!/usr/bin/env bash
# Java orchestration overhead of a training step: the same ~10M-parameter model step (forward, fused ce_mix in
# place, backward, AdamW) from C++ (model_step) and from Java (JMH ModelStepBenchmark), alternated twice.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
wmss_mvn -q install -DskipTests | sed 's/\x1b\[[0-9;]*m//g'
cmake --build java/natives/target/cmake --target wmss_model_step > /dev/null
export WMSS_CACHE_DIR="$root/target/wmss-cache"
for round in 1 2; do
  java/natives/target/cmake/wmss_model_step 40
  "$JAVA_HOME/bin/java" -jar benchmarks/target/benchmarks.jar ModelStepBenchmark -rf json \
    -rff "benchmarks/results/model-step-$round.json" 2>&1 | grep -E "^ModelStepBenchmark.step +sample|p0.50" || true
done
