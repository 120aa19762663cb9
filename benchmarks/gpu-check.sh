#!/usr/bin/env bash
# One-command GPU check (run it on a machine with an NVIDIA GPU, sm_80 or newer):
#   1. builds libwmss and the harness with CUDA (cmake only: no network needed);
#   2. benchmarks/gpu/ce_mix_check: CUDA fused/unfused vs the CPU kernel on odd shapes, then timings with CUDA
#      events against the device's copy bandwidth (args: rows vocab reps; default 8192 128256 20);
#   3. if a JDK 25 and Maven with a filled .m2/ are there: the JUnit CUDA tests (CeMixCudaTest), offline.
# The report goes to stdout, benchmarks/results/gpu-<UTC date>.md and, when set, $OUT/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/gpu"
stamp=$(date -u +%Y-%m-%dT%H%MZ)
mkdir -p "$root/benchmarks/results"
report="$root/benchmarks/results/gpu-$stamp.md"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWMSS_WITH_TORCH=OFF > "$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }
grep -q "wmss: CUDA" "$build.configure.log" || { echo "gpu-check: nvcc not found, nothing to check"; exit 1; }
cmake --build "$build" --target wmss wmss_gpu_check --parallel "$(nproc)"
status=0
"$build/wmss_gpu_check" "$@" | tee "$report" || status=$?
if [ -d "$root/.m2/repository" ] && command -v mvn >/dev/null; then
  (
    source "$root/scripts/env.sh"
    echo "gpu-check: JUnit CUDA tests (offline Maven)"
    wmss_mvn -o -q -pl java/kernels test -Dtest='CeMixCudaTest,CeMixTest,CeMixMaskedRowsTest,CudaAlgorithmHostTest,BackendTest' \
      -Dsurefire.failIfNoSpecifiedTests=false 2>&1 | tail -30
    python3 "$root/scripts/test-summary.py" "$root"
  ) | tee -a "$report" || status=1
fi
if [ -n "${OUT:-}" ]; then cp "$report" "$OUT/"; fi
exit $status
