#!/usr/bin/env bash
# Installs what the build needs and is missing, idempotently, and says what it does. Debian 12.
#   toolchain : gcc, g++, cmake, make, maven, python3
#   libtorch  : libtorch-dev (1.13.1, CPU) + libopenblas0-pthread (without it BLAS is ~30x slower) + libgloo-dev
#   JSON      : nlohmann-json3-dev (config.json and safetensors headers in libwmss_torch)
#   fonts     : fontconfig + fonts-dejavu-core (text in the run report's PNG plots, drawn by headless AWT)
#   JDK 25    : not in Debian 12; found by scripts/env.sh ($JAVA_HOME or /usr/lib/jvm)
#   CUDA      : optional; nvcc from /usr/local/cuda or PATH builds the CUDA kernels, else CPU only
set -euo pipefail
packages=(gcc g++ make cmake maven python3 libgomp1 libtorch-dev libopenblas0-pthread libgloo-dev nlohmann-json3-dev
          fontconfig fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "wmss setup: system packages present (${packages[*]})"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # apt's and dpkg's own output (about 1,500 lines for libtorch's dependencies) goes to a log; its tail on failure
  log_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target"
  mkdir -p "$log_dir"
  log="$log_dir/setup-apt.log"
  echo "wmss setup: installing ${missing[*]} (apt's output: target/setup-apt.log)"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
         --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    echo "wmss setup: apt-get failed; the end of its output ($log):" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
  echo "wmss setup: installed $(grep -c '^Setting up ' "$log" || true) packages"
fi
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "wmss setup: nvcc found: the CUDA kernels will be built"
else
  echo "wmss setup: no nvcc: building the CPU kernels only"
fi
