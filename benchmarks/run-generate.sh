#!/usr/bin/env bash
# Evaluation's greedy decoding at Qwen3's vocabulary: KV cache (TorchModel.generate) vs re-running the sequences
# (GreedyReference, the decoding before the cache), JMH single-shot, and the speed-up from the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cd "$root"
wmss_mvn -q install -DskipTests | sed 's/\x1b\[[0-9;]*m//g'
export WMSS_CACHE_DIR="$root/target/wmss-cache"
mkdir -p benchmarks/results
json=benchmarks/results/generate-$(date -u +%Y-%m-%dT%H%MZ).json
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD), $(nproc) cores"
"$JAVA_HOME/bin/java" -jar benchmarks/target/benchmarks.jar GenerateBenchmark -rf json -rff "$json" "$@" > /dev/null
python3 - "$json" <<'PY'
import json, sys
rows = {r["params"]["method"]: r for r in json.load(open(sys.argv[1]))}
c, r = rows["cache"], rows["recompute"]
p = c["params"]
print(f"batch {p['batch']}, {p['maxNew']} new tokens, {p['config']}")
print("| decoding | ms per batch (mean of 3) | min–max ms |")
print("|---|---:|---:|")
for name, row in (("KV cache", c), ("re-running the sequences", r)):
    raw = row["primaryMetric"]["rawData"][0]
    print(f"| {name} | {row['primaryMetric']['score']:.0f} | {min(raw):.0f}–{max(raw):.0f} |")
print(f"speed-up: {r['primaryMetric']['score'] / c['primaryMetric']['score']:.1f}x (target >= 10x)")
PY
