#!/usr/bin/env bash
# Runs the CPU benchmarks (JMH: ce_mix on every backend, shape, dtype and mode, and the copy it is measured against)
# and prints a RESULTS.md section.
#   benchmarks/run.sh                  everything: 49 benchmarks x 8 s, about 8 minutes (+ about 2 to build the jar once)
#   benchmarks/run.sh --quick          one shape, fused vs unfused, short iterations: about 1 minute
#   benchmarks/run.sh -p shape=512x151936 -p dtype=F32    any JMH options narrow the run
# Builds the benchmark jar with the DJL comparison (-Pdjl: DJL 0.36's PyTorch engine, libtorch 2.7.1, fetched from
# Maven Central into .m2/ once, then offline) when it is missing or older than the sources.
# Output: benchmarks/results/<date>.json and .md. Run it on an idle machine: a busy one makes the copy (the
# reference of every '% of copy') read low, which the report flags.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
args=("$@")
if [ "${1:-}" = "--quick" ]; then
  args=(-p shape=2048x32000 -p dtype=F32 -p backend=cpu-fused,cpu-unfused -wi 1 -i 3 -w 1 -r 1 "${@:2}")
fi
t0=$(date +%s)
if [ ! -f benchmarks/target/benchmarks.jar ] || ! unzip -l benchmarks/target/benchmarks.jar | grep -q DjlCeMixBenchmark \
   || [ -n "$(find native java/kernels/src java/runtime/src benchmarks/src -newer benchmarks/target/benchmarks.jar -type f | head -1)" ]; then
  mkdir -p benchmarks/target
  echo "benchmarks: building the benchmark jar (about 2 minutes; log: benchmarks/target/build.log)"
  if ! { wmss_mvn -q install -DskipTests -pl java/runtime -am && wmss_mvn -q package -DskipTests -Pdjl -pl benchmarks; } \
       > benchmarks/target/build.log 2>&1; then
    tail -20 benchmarks/target/build.log >&2
    echo "benchmarks: the build failed; its output is in benchmarks/target/build.log" >&2
    exit 1
  fi
  echo "benchmarks: built in $(( $(date +%s) - t0 )) s"
fi
mkdir -p benchmarks/results
stamp=$(date -u +%Y-%m-%dT%H%MZ)
json=benchmarks/results/$stamp.json
export WMSS_CACHE_DIR="$root/target/wmss-cache"
export DJL_CACHE_DIR="$root/benchmarks/target/djl-cache" OPT_OUT_TRACKING=true # DJL: offline, nothing outside the repo
# the JVM's warnings answered, here and in every fork: JMH's own use of sun.misc.Unsafe, native access (the kernels' FFM
# calls, DJL's JNA)
jvm="--sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED"
"$JAVA_HOME/bin/java" $jvm -jar benchmarks/target/benchmarks.jar 'CeMixBenchmark|CopyBenchmark' \
  -jvmArgsAppend "$jvm" -rf json -rff "$json" "${args[@]}"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
header="### $(date -u +%Y-%m-%d) — $cpu, $(nproc) cores, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), commit $(git rev-parse --short HEAD)
Command: \`benchmarks/run.sh $*\`"
python3 benchmarks/report.py "$json" "$header" | tee "benchmarks/results/$stamp.md"
echo "benchmarks: $(( $(date +%s) - t0 )) s in all; results in benchmarks/results/$stamp.md"
