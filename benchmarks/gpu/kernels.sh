#!/usr/bin/env bash
# Issue 22 in one run on a GPU machine (an H200 in mind; any sm_90 GPU works, sm_80 runs v1 only), from the repo root:
#     bash benchmarks/gpu/kernels.sh
#   1. builds libwmss and the harness (CMake into ${WMSS_GPU_BUILD:-build/gpu}; configured only if not yet);
#   2. validates every variant of the fused kernel (v1 .. v5, auto) and the unfused baseline against the CPU
#      kernel, one process each (in parallel: correctness only), NaN/+inf status words included;
#   3. times every variant, one process each (in sequence), against a device-to-device copy of the op's bytes;
#   4. times the peers (PyTorch eager, torch.compile, eager mix + Liger CE if importable) in what time is left;
#   5. prints the tables, the short table of issue 22's targets last; with $OUT set, writes $OUT/kernels.md (the
#      tables, then every stage's full log).
# Every stage runs under `timeout`, the whole script in under 4 minutes; a failing variant is reported, not fatal.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
deadline=${WMSS_GPU_DEADLINE:-230} # seconds for the whole script
SECONDS=0
build=${WMSS_GPU_BUILD:-build/gpu}
work=$(mktemp -d /tmp/wmss-kernels.XXXXXX)
tsv="$work/results.tsv"
: > "$tsv"
left() { echo $((deadline - SECONDS)); }
stage_limit() { # stage_limit WANTED RESERVE: min(WANTED, time left - RESERVE), at least 1
  local l=$(( $(left) - $2 ))
  [ "$l" -gt "$1" ] && l=$1
  [ "$l" -lt 1 ] && l=1
  echo "$l"
}

{
  echo "# ce_mix kernels (issue 22), $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  echo "nvcc: $(nvcc --version 2>/dev/null | tail -1 || echo absent)"
  echo "torch: $(timeout 30 python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>&1 | tail -1)"
} | tee "$work/header.md"

# ---- 1. build
echo "== build ($build), $(left) s left"
if [ ! -f "$build/CMakeCache.txt" ]; then
  timeout "$(stage_limit 60 150)" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWMSS_WITH_TORCH=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=90 > "$work/build.log" 2>&1 || { echo "configure FAILED"; tail -20 "$work/build.log"; }
fi
timeout "$(stage_limit 150 90)" cmake --build "$build" --target wmss wmss_gpu_check --parallel "$(nproc)" >> "$work/build.log" 2>&1
build_rc=$?
bin="$build/wmss_gpu_check"
if [ $build_rc -ne 0 ] || [ ! -x "$bin" ]; then
  echo "build FAILED (rc $build_rc) after $SECONDS s:"; tail -30 "$work/build.log"
fi
grep -E "wmss: CUDA|error" "$work/build.log" | head -5
echo "build: $SECONDS s"

# ---- 2. validation, one process per variant, in parallel
echo "== validate, $(left) s left"
variants="v1 v2 v3 v4 v5 auto unfused"
if [ -x "$bin" ]; then
  lim=$(stage_limit 60 100)
  for v in $variants; do
    timeout "$lim" "$bin" validate "$v" --tsv "$work/validate-$v.tsv" > "$work/validate-$v.log" 2>&1 &
  done
  wait
  for v in $variants; do
    cat "$work/validate-$v.tsv" >> "$tsv" 2>/dev/null
    if grep -q '^VALIDATE' "$work/validate-$v.log"; then
      echo "$v: $(grep -E '^VALIDATE|FATAL' "$work/validate-$v.log" | head -3 | tr '\n' ' ')"
    else
      echo "$v: no verdict (timed out or crashed): $(tail -2 "$work/validate-$v.log" | tr '\n' ' ')"
    fi
  done
fi
echo "validate: $SECONDS s"

# ---- 3. timings, one process per implementation, in sequence
echo "== time, $(left) s left"
if [ -x "$bin" ]; then
  for v in v3 v5 v1 v4 v2 unfused; do
    lim=$(stage_limit 40 90)
    timeout "$lim" "$bin" time "$v" --tsv "$tsv" > "$work/time-$v.log" 2>&1
    rc=$?
    echo "$v: rc $rc, $(grep -c '^| [a-z0-9]' "$work/time-$v.log") timings$( [ $rc -eq 0 ] || tail -1 "$work/time-$v.log" | sed 's/^/; last line: /')"
  done
fi
echo "time: $SECONDS s"

# ---- 4. peers
echo "== peers, $(left) s left"
lim=$(stage_limit 200 8)
PYTHONUNBUFFERED=1 timeout "$lim" python3 benchmarks/gpu/peers.py --tsv "$tsv" --budget $((lim - 5)) > "$work/peers.log" 2>&1
rc=$?
echo "peers: rc $rc, $SECONDS s"
grep -E "liger_kernel|FAILED|skipped" "$work/peers.log" | head -8
[ $rc -eq 0 ] || tail -3 "$work/peers.log"

# ---- 5. tables
python3 benchmarks/gpu/summary.py "$tsv" > "$work/summary.md" 2>&1
if [ -n "${OUT:-}" ]; then
  {
    cat "$work/header.md"
    echo
    cat "$work/summary.md"
    echo; echo "## Logs"; echo
    for f in "$work"/validate-*.log "$work"/time-*.log "$work/peers.log" "$work/build.log"; do
      [ -f "$f" ] || continue
      echo "### $(basename "$f")"; echo '```'; cat "$f"; echo '```'
    done
    echo '### results.tsv'; echo '```'; cat "$tsv"; echo '```'
  } > "$OUT/kernels.md"
fi
echo
echo "total: $SECONDS s (work files in $work)"
cat "$work/summary.md"
