#!/usr/bin/env bash
# Compile check of every native/torch source against libtorch 2.x's headers (PyTorch 2.11's, from
# ../shared/libtorch/; no libraries there, so compile only): the 2.x side of the one source tree, proved on every
# CI run beside the 1.13 build. Variants: the data-parallel backends on (gloo with Debian's headers, nccl where
# nccl.h is found) and the CUDA device services (cuda_stats.cpp, with CUDA's headers from /usr/local/cuda).
# Usage: scripts/check-torch2.sh [tarball]   (exit 0 and a message when the headers are absent)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=${1:-$root/../shared/libtorch/libtorch-2.11.0-cu130-headers.tar.xz}
if [ ! -f "$tarball" ]; then
  echo "torch2-check: skipped ($tarball is absent)"
  exit 0
fi
dest="$root/build/torch211"
if [ ! -f "$dest/.unpacked" ] || [ "$tarball" -nt "$dest/.unpacked" ]; then
  rm -rf "$dest" && mkdir -p "$dest" && tar -xJf "$tarball" -C "$dest" && touch "$dest/.unpacked" || { echo "torch2-check: cannot unpack $tarball"; exit 1; }
fi
version=$(cat "$dest"/include/torch/headeronly/version.h "$dest"/include/torch/csrc/api/include/torch/version.h 2>/dev/null |
  sed -n 's/^#define TORCH_VERSION_MAJOR \([0-9]*\).*/\1/p;s/^#define TORCH_VERSION_MINOR \([0-9]*\).*/.\1/p' | head -2 | tr -d '\n')
flags=(-std=c++17 -fsyntax-only -Wall -Werror=return-type -D_GLIBCXX_USE_CXX11_ABI=1 -DUSE_DISTRIBUTED
       -I"$dest/include" -I"$dest/include/torch/csrc/api/include" -I"$root/native/include")
[ -f /usr/include/gloo/config.h ] && flags+=(-DUSE_C10D_GLOO -DWMSS_HAVE_GLOO)
cuda_inc=/usr/local/cuda/include
files=("$root"/native/torch/*.cpp)
log="$root/build/torch211.log"
: > "$log"
check() { # file -> "ok file" or "FAIL file" (errors appended to the log)
  local f=$1 extra=()
  case "$(basename "$f")" in
    cuda_stats.cpp) [ -f "$cuda_inc/cuda_runtime_api.h" ] || { echo "skip $f (no CUDA headers)"; return; }
                    extra=(-I"$cuda_inc") ;;
  esac
  if out=$(g++ "${flags[@]}" "${extra[@]}" "$f" 2>&1); then echo "ok $f"; else echo "FAIL $f"; printf '== %s\n%s\n' "$f" "$out" >> "$log"; fi
}
export -f check; export log cuda_inc
jobs=$(nproc 2>/dev/null || echo 2)
results=$(for f in "${files[@]}"; do echo "$f"; done | \
  FLAGS="$(printf '%q ' "${flags[@]}")" xargs -P "$jobs" -I{} bash -c 'eval "flags=($FLAGS)"; check "$1"' _ {})
ok=$(grep -c '^ok ' <<<"$results"); bad=$(grep -c '^FAIL ' <<<"$results"); skip=$(grep -c '^skip ' <<<"$results")
echo "torch2-check: libtorch $version headers: $ok of ${#files[@]} native/torch sources compile, $bad fail, $skip skipped"
grep '^skip ' <<<"$results" | sed 's/^/torch2-check: /'
if [ "$bad" -gt 0 ]; then
  grep '^FAIL ' <<<"$results" | sed 's/^/torch2-check: /'
  grep -m 40 'error' "$log"
  exit 1
fi
