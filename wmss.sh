#!/usr/bin/env bash
# One launcher for everything (each call installs what is missing, finds a JDK 25, and builds when needed):
#   ./wmss.sh demo [options]      run the built-in default job
#   ./wmss.sh test                build, run every test, then print the summary
#   ./wmss.sh COMMAND [options]   any command of wmss-native.jar (run, experiment, eval, export, info, ...) on JDK 25
#   ./wmss.sh build               build target/wmss-native.jar (tests skipped)
#   ./wmss.sh install-library [REPO]  put the library's artifacts (dev.wmss:*) in your Maven repository (~/.m2/repository)
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
jar="$root/target/wmss-native.jar"
cmd=${1:-help}
[ $# -gt 0 ] && shift

# Builds the jar; the build's output goes to target/build.log (its errors, and the log's name, on failure).
build() {
  bash "$root/scripts/setup.sh"
  source "$root/scripts/env.sh"
  mkdir -p "$root/target"
  local log="$root/target/build.log"
  echo "wmss: building with $JAVA_HOME (tests skipped; ./wmss.sh test runs them; log: target/build.log)"
  if ! wmss_mvn install -DskipTests >"$log" 2>&1; then
    grep -E '^\[ERROR\]|error:|Error ' "$log" | sed 's/\x1b\[[0-9;]*m//g' | head -n 40 >&2 || true
    echo "wmss: the build failed; its whole output is in $log" >&2
    exit 1
  fi
}

# Whether the jar is missing or older than a source file.
stale() {
  [ ! -f "$jar" ] && return 0
  [ -n "$(find "$root/java" "$root/native" "$root/cmake" "$root/pom.xml" "$root/CMakeLists.txt" \
            -path '*/target' -prune -o -newer "$jar" -type f -print -quit 2>/dev/null)" ]
}

case "$cmd" in
  help|-h|--help)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  test)
    bash "$root/scripts/setup.sh"
    source "$root/scripts/env.sh"
    echo "wmss: building and testing with $JAVA_HOME"
    find "$root" -path "$root/.m2" -prune -o -type d -name surefire-reports -prune -exec rm -rf {} + # count this run only
    status=0
    wmss_mvn install -Dmaven.test.failure.ignore=false "$@" || status=$?
    # beyond JUnit: the libtorch 2.x side compiles, the jar runs on its jlink runtime, the GPU script's dry run, the
    # library installs into a Maven repository and a project with the README's snippet builds and runs from it
    if [ $status = 0 ]; then
      bash "$root/scripts/check-torch2.sh" || status=$?
      bash "$root/scripts/check-runtime.sh" || status=$?
      bash "$root/scripts/check-library.sh" || status=$?
    fi
    python3 "$root/scripts/test-summary.py" "$root"
    exit $status
    ;;
  build)
    build
    ;;
  install-library)
    if stale; then build; else source "$root/scripts/env.sh"; fi
    repo=${1:-$HOME/.m2/repository}
    mkdir -p "$repo/dev"
    rm -rf "$repo/dev/wmss"
    cp -r "$root/.m2/repository/dev/wmss" "$repo/dev/wmss"
    echo "wmss: dev.wmss artifacts (wmss-kernels, wmss-runtime, wmss-natives linux-x86_64 and linux-x86_64-cuda) are in $repo"
    ;;
  demo)
    build
    exec "$JAVA_HOME/bin/java" -jar "$jar" demo "$@"
    ;;
  *)
    if stale; then build; else source "$root/scripts/env.sh"; fi
    exec "$JAVA_HOME/bin/java" -jar "$jar" "$cmd" "$@"
    ;;
esac
