#!/usr/bin/env bash
# The two set-up commands of the README (each installs what is missing, then builds):
#   ./wmss.sh demo [options]   run the built-in default job (java -jar target/wmss-native.jar demo ...)
#   ./wmss.sh test             run every test, then print the summary
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  demo)
    bash "$root/scripts/setup.sh"
    source "$root/scripts/env.sh"
    echo "wmss: building with $JAVA_HOME (tests skipped; ./wmss.sh test runs them)"
    wmss_mvn -q install -DskipTests | sed 's/\x1b\[[0-9;]*m//g'
    exec "$JAVA_HOME/bin/java" -jar "$root/target/wmss-native.jar" demo "$@"
    ;;
  test)
    bash "$root/scripts/setup.sh"
    source "$root/scripts/env.sh"
    echo "wmss: building and testing with $JAVA_HOME"
    find "$root" -path "$root/.m2" -prune -o -type d -name surefire-reports -prune -exec rm -rf {} + # count this run only
    status=0
    wmss_mvn install -Dmaven.test.failure.ignore=false "$@" || status=$?
    python3 "$root/scripts/test-summary.py" "$root"
    exit $status
    ;;
  *)
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
