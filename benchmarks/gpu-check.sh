#!/usr/bin/env bash
# The GPU check, one command, on a machine with an NVIDIA GPU, PyTorch (a CUDA libtorch) and CMake/nvcc, but no JDK:
#   bash benchmarks/gpu-check.sh                (from the repository root; carry target/wmss-native.jar and build/jre)
# Stages, each under its own time limit so that the whole stays within about 8 minutes on an H200; a failing stage is
# reported and the next one runs:
#   1. build   scripts/build-cuda.sh: libwmss + libwmss_torch against the machine's PyTorch, packed into the jar
#   2. check   selfcheck --device cuda (bf16), and fp32 with the comparison against Hugging Face transformers
#   3. step    bench-step: WD-JT of two Qwen3-0.6B-shaped models on 8x1024 tokens (tokens/s, peak memory, Java's
#              share, phases) and the PyTorch-eager peer of the same step (benchmarks/gpu/wdjt_peer.py)
#   4. kernels benchmarks/gpu/kernels.sh: ce_mix variants against copy, eager, torch.compile (issue 22)
#   5. demo    the demo with --device cuda
# Java: $JAVA, else build/jre/bin/java (scripts/jlink.sh), else java on the PATH. Logs and tables go to stdout and,
# when $OUT is set, $OUT/gpu-check.md (summary) and $OUT/gpu-check.log (everything); stage scripts may add their own.
# --dry-run prints the stages and checks what can be checked without a GPU. GPU_CHECK_STAGES (a comma-separated
# subset of build,reference,selfcheck,step,kernels,demo) runs some stages only; GPU_CHECK_BUDGET_S (default 480) is
# the time budget in seconds.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dry=0
[ "${1:-}" = --dry-run ] && dry=1
out=${OUT:-$root/build/gpu-check}
mkdir -p "$out" build
log=$out/gpu-check.log
summary=$out/gpu-check.md
: > "$log"
: > "$summary"
start=$(date +%s)
JAVA=${JAVA:-}
if [ -z "$JAVA" ]; then
  if [ -x build/jre/bin/java ]; then JAVA=build/jre/bin/java; else JAVA=$(command -v java || true); fi
fi
jar=target/wmss-native.jar
say() { echo "$*" | tee -a "$summary"; }
stages=",${GPU_CHECK_STAGES:-build,reference,selfcheck,step,kernels,demo},"
want() { [[ $stages == *",$1,"* ]]; }
budget=${GPU_CHECK_BUDGET_S:-480} # the whole run's limit in seconds: later stages get what is left
# run NAME SECONDS COMMAND...: the command's output to the log; the status recorded. The limit is cut to what is
# left of the budget, and a stage with less than 20 s left is skipped.
run() {
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s) rc left
  left=$(( budget - (t0 - start) ))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ $dry = 0 ] && [ "$limit" -lt 20 ]; then say "| $name | skipped (budget spent) | 0 s |"; return 1; fi
  echo "== $name (limit ${limit}s): $*" >> "$log"
  if [ $dry = 1 ]; then echo "dry-run: $name: $*"; return 0; fi
  timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
  rc=$?
  local took=$(( $(date +%s) - t0 ))
  local what=ok; [ $rc = 0 ] || what="FAILED (exit $rc$([ $rc = 124 ] && echo ', time limit'))"
  echo "== $name: $what after ${took}s" >> "$log"
  say "| $name | $what | ${took} s |"
  return $rc
}
section() { # the lines of the log between the last "== NAME" header and its end marker
  awk -v n="== $1 (" 'index($0, n) == 1 {buf=""; on=1; next} on && index($0, "== ") == 1 {on=0} on {buf = buf $0 "\n"} END {printf "%s", buf}' "$log"
}

# a copy of the tree (as a GPU lease sends it) may carry a stale .git: WMSS_COMMIT names the commit when set
say "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ), commit ${WMSS_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo '?')})"
say ""
if [ $dry = 0 ]; then
  say "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
  say "torch: $(python3 -c 'import torch, transformers; print(torch.__version__, "(CUDA", torch.version.cuda + "), transformers", transformers.__version__)' 2>&1 | tail -1)"
  say "nvcc: $(nvcc --version 2>/dev/null | tail -1 || /usr/local/cuda/bin/nvcc --version | tail -1)"
fi
say "java: ${JAVA:-none} ($("${JAVA:-false}" -version 2>&1 | head -1))"
[ -f "$jar" ] || say "warning: $jar is missing (carry it: build it with ./wmss.sh build on a machine with a JDK)"
say ""
say "| stage | result | time |"
say "|---|---|---|"

# 1. build
want build && run build 300 bash scripts/build-cuda.sh "$jar"
cjar=target/wmss-native-cuda.jar
[ -f "$cjar" ] || cjar=$jar
javacmd=("$JAVA" -Dwmss.time=true -jar "$cjar")

# 2. selfcheck: bf16 (the default on CUDA), then fp32 with the transformers comparison
want reference && run hf-reference 120 python3 benchmarks/gpu/hf_reference.py build/hf-reference
want selfcheck && run selfcheck-bf16 150 "${javacmd[@]}" selfcheck --device cuda --precision bf16
if want reference; then
  run selfcheck-fp32 150 "${javacmd[@]}" selfcheck --device cuda --precision fp32 --no-throughput --hf-reference build/hf-reference
fi

# 3. the step, ours and the eager peer's
if want step; then
  run bench-step 240 "${javacmd[@]}" bench-step --device cuda --precision bf16 --batch 8 --seq 1024 --steps 6 --phases
  run peer-eager 180 python3 benchmarks/gpu/wdjt_peer.py --batch 8 --seq 1024 --steps 6
fi

# 4. kernels (issue 22's table), within what is left of the budget
if want kernels && [ -f benchmarks/gpu/kernels.sh ]; then
  WMSS_GPU_BUILD=build/cuda run kernels 240 bash benchmarks/gpu/kernels.sh
fi

# 5. the demo on the GPU (stopped at its limit: the stages it finished are reported)
want demo && run demo 150 "${javacmd[@]}" demo --device cuda --out build/wmss-demo-cuda

# the short table last (after a real run: a dry run has no results to put in it)
[ $dry = 0 ] && {
  echo ""
  echo "## selfcheck"
  section selfcheck-bf16 | grep -E "^(PASS|FAIL)|^selfcheck"
  section selfcheck-fp32 | grep -E "^(PASS|FAIL)|^selfcheck"
  echo ""
  echo "## WD-JT step, 2 x Qwen3-0.6B shape, 8 x 1024 tokens"
  section bench-step | grep -E "^(step|tokens|memory|java|mfu|phase) "
  section peer-eager | grep -E "^peer eager"
  section bench-step | grep -E '^\{' | tail -1
  section peer-eager | grep -E '^\{' | tail -1
  echo ""
  echo "## demo"
  section demo | grep -E "exact match|base model|SFT|WMSS|error" | tail -8
  echo ""
  echo "total $(( $(date +%s) - start )) s"
} | tee -a "$summary"
if [ $dry = 1 ]; then
  for f in scripts/build-cuda.sh benchmarks/gpu/hf_reference.py benchmarks/gpu/wdjt_peer.py; do
    [ -f "$f" ] || { echo "dry-run: $f is missing"; exit 1; }
  done
  bash -n scripts/build-cuda.sh || exit 1
  python3 -m py_compile benchmarks/gpu/hf_reference.py benchmarks/gpu/wdjt_peer.py || exit 1
  [ -n "$JAVA" ] && [ -f "$jar" ] && "$JAVA" -jar "$jar" selfcheck --help > /dev/null && "$JAVA" -jar "$jar" bench-step --help > /dev/null \
    || { echo "dry-run: the jar's selfcheck / bench-step do not start"; exit 1; }
  echo "dry-run: ok"
fi
