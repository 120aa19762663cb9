#!/usr/bin/env bash
# A stripped Java runtime of only the modules wmss-native.jar needs, for machines without a JDK (GPU machines):
#   scripts/jlink.sh [--plots] [OUT_DIR]      (default build/jre; needs target/wmss-native.jar and JDK 25's jlink)
#   OUT_DIR/bin/java -jar target/wmss-native.jar info
# Without --plots the runtime has no java.desktop (AWT: 20 MB): everything runs, and reports say their PNG plots were
# not made. The modules are what jdeps finds in the jar (java.desktop aside), plus what its libraries reach by
# reflection. libjvm.so's symbol table is stripped (5 MB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
plots=0
if [ "${1:-}" = --plots ]; then plots=1; shift; fi
out=${1:-$root/build/jre}
jar=$root/target/wmss-native.jar
[ -f "$jar" ] || { echo "jlink: $jar is missing: build it first (./wmss.sh build)"; exit 1; }
found=$("$JAVA_HOME/bin/jdeps" --multi-release 25 --print-module-deps --ignore-missing-deps "$jar")
[ $plots = 1 ] || found=$(tr , '\n' <<<"$found" | grep -vx java.desktop | paste -sd, -)
# jdk.unsupported: sun.misc.Unsafe (JNA, Gson); java.logging: JUL users
modules=$(tr , '\n' <<<"$found,jdk.unsupported,java.logging" | awk 'NF && !seen[$0]++' | paste -sd, -)
rm -rf "$out"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --compress zip-9 --output "$out"
command -v strip >/dev/null && strip --strip-unneeded "$out/lib/server/libjvm.so"
mib() { echo $(( ($1 + 524288) / 1048576 )); }
jre=$(du -sb "$out" | cut -f1); jarb=$(stat -c %s "$jar")
echo "jlink: $out: $(mib "$jre") MiB (modules $modules); with the jar ($(mib "$jarb") MiB): $(mib $((jre + jarb))) MiB"
