#!/usr/bin/env bash
# Runs the CPU benchmarks (JMH) and prints a RESULTS.md section; pass JMH options to narrow the run, e.g.
#   benchmarks/run.sh -p shape=512x151936 -p dtype=F32
# Builds the benchmark jar with the DJL comparison (-Pdjl: DJL 0.36's PyTorch engine, libtorch 2.7.1, fetched from
# Maven Central into .m2/ once, then offline) when it is missing or older than the sources.
# Output: benchmarks/results/<date>.json and .md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
if [ ! -f benchmarks/target/benchmarks.jar ] || ! unzip -l benchmarks/target/benchmarks.jar | grep -q DjlCeMixBenchmark \
   || [ -n "$(find native java/kernels/src java/runtime/src benchmarks/src -newer benchmarks/target/benchmarks.jar -type f | head -1)" ]; then
  wmss_mvn -q install -DskipTests -pl java/runtime -am
  wmss_mvn -q package -DskipTests -Pdjl -pl benchmarks
fi
mkdir -p benchmarks/results
stamp=$(date -u +%Y-%m-%dT%H%MZ)
json=benchmarks/results/$stamp.json
export WMSS_CACHE_DIR="$root/target/wmss-cache"
export DJL_CACHE_DIR="$root/benchmarks/target/djl-cache" OPT_OUT_TRACKING=true # DJL: offline, nothing outside the repo
"$JAVA_HOME/bin/java" -jar benchmarks/target/benchmarks.jar 'CeMixBenchmark|CopyBenchmark' -rf json -rff "$json" "$@"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
header="### $(date -u +%Y-%m-%d) — $cpu, $(nproc) cores, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), commit $(git rev-parse --short HEAD)
Command: \`benchmarks/run.sh $*\`"
python3 benchmarks/report.py "$json" "$header" | tee "benchmarks/results/$stamp.md"
