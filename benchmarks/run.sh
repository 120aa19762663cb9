#!/usr/bin/env bash
# Runs the CPU benchmarks (JMH) and prints a RESULTS.md section; pass JMH options to narrow the run, e.g.
#   benchmarks/run.sh -p shape=512x151936 -p dtype=F32
# Builds what is missing first (through ./wmss.sh's environment). Output: benchmarks/results/<date>.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
if [ ! -f benchmarks/target/benchmarks.jar ] || [ -n "$(find native java/kernels/src benchmarks/src -newer benchmarks/target/benchmarks.jar -type f | head -1)" ]; then
  wmss_mvn -q install -DskipTests
fi
mkdir -p benchmarks/results
stamp=$(date -u +%Y-%m-%dT%H%MZ)
json=benchmarks/results/$stamp.json
export WMSS_CACHE_DIR="$root/target/wmss-cache"
"$JAVA_HOME/bin/java" -jar benchmarks/target/benchmarks.jar 'CeMixBenchmark|CopyBenchmark' -rf json -rff "$json" "$@"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
header="### $(date -u +%Y-%m-%d) — $cpu, $(nproc) cores, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), commit $(git rev-parse --short HEAD)
Command: \`benchmarks/run.sh $*\`"
python3 benchmarks/report.py "$json" "$header" | tee "benchmarks/results/$stamp.md"
