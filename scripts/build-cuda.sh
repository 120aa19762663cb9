#!/usr/bin/env bash
# The CUDA flavour on a GPU machine, in one command (no JDK or Maven needed there):
#   scripts/build-cuda.sh [JAR]
# finds the CUDA libtorch of the python3 on the PATH (or TORCH_DIR=<...>/share/cmake/Torch), builds libwmss (CUDA
# kernels for sm_80 and sm_90 + PTX) and libwmss_torch against it into build/cuda, and packs them as the CUDA
# flavour (natives/linux-x86_64/cuda/, beside the jar's CPU flavour) into a copy of JAR (default
# target/wmss-native.jar, built anywhere) as target/wmss-native-cuda.jar, which takes the CUDA flavour wherever a
# device is visible (-Dwmss.flavour=cpu|cuda forces one). Then:
#   java -jar target/wmss-native-cuda.jar info     (or WMSS_LIBRARY_PATH=build/cuda/natives/cuda java -jar JAR ...)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=${1:-$root/target/wmss-native.jar}
build=$root/build/cuda
if [ -z "${TORCH_DIR:-}" ]; then
  TORCH_DIR=$(python3 -c 'import torch, os; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))' 2>/dev/null) || {
    echo "build-cuda: no PyTorch in $(command -v python3 || echo 'python3 (not found)'): set TORCH_DIR=<libtorch>/share/cmake/Torch"; exit 1; }
fi
[ -f "$TORCH_DIR/TorchConfig.cmake" ] || { echo "build-cuda: no TorchConfig.cmake in $TORCH_DIR"; exit 1; }
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || { echo "build-cuda: nvcc not found"; exit 1; }
echo "build-cuda: libtorch from $TORCH_DIR"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$TORCH_DIR" -DWMSS_WITH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="80-real;90" > "$build.configure.log" 2>&1 || { tail -40 "$build.configure.log"; exit 1; }
grep -E "wmss:" "$build.configure.log" | sed 's/^-- /build-cuda: /'
grep -q "wmss: CUDA" "$build.configure.log" || { echo "build-cuda: CMake found no CUDA compiler"; exit 1; }
grep -q "libtorch .*(cuda)" "$build.configure.log" || { echo "build-cuda: the libtorch found is not a CUDA build"; exit 1; }
if ! cmake --build "$build" --parallel "$(nproc)" --target wmss_cuda wmss_torch > "$build.build.log" 2>&1; then
  grep -E -B2 -A6 "error" "$build.build.log" | head -80
  echo "build-cuda: the build failed (log: $build.build.log)"; exit 1
fi
rm -rf "$build/natives"
cmake --install "$build" --prefix "$build/natives" > /dev/null
natives=$build/natives/cuda
grep -q "^torch=cuda" "$natives/natives.properties" 2>/dev/null || { echo "build-cuda: the build is not the CUDA flavour"; exit 1; }
echo "build-cuda: natives in $natives: $(ls "$natives" | tr '\n' ' ')"
if [ -f "$jar" ]; then
  out=$root/target/wmss-native-cuda.jar
  mkdir -p "$root/target"
  python3 - "$jar" "$out" "$natives" <<'PY'
import os, sys, zipfile
src, dst, natives = sys.argv[1:4]
prefix = "natives/linux-x86_64/cuda/"  # the jar's CPU flavour (natives/linux-x86_64/cpu/) stays
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst + ".tmp", "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if not item.filename.startswith(prefix):
            zout.writestr(item, zin.read(item.filename))
    for f in sorted(os.listdir(natives)):
        zout.write(os.path.join(natives, f), prefix + f)
os.replace(dst + ".tmp", dst)
PY
  echo "build-cuda: $out (the jar with these natives)"
else
  echo "build-cuda: $jar not found: use WMSS_LIBRARY_PATH=$natives with a wmss-native.jar"
fi
