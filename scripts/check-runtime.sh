#!/usr/bin/env bash
# What a GPU machine without a JDK will run, checked here on the CPU: the jlink runtime (scripts/jlink.sh) runs the
# jar's selfcheck, the jar and runtime stay within 60 MiB together, and the GPU check's dry run passes.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail=0
if out=$(bash scripts/jlink.sh 2>&1); then
  echo "$out" | tail -1
  total=$(sed -n 's/.*: \([0-9]*\) MiB$/\1/p' <<<"$(echo "$out" | tail -1)")
  if [ -n "$total" ] && [ "$total" -gt 60 ]; then echo "check-runtime: jar + runtime = $total MiB > 60 MiB"; fail=1; fi
  if build/jre/bin/java -jar target/wmss-native.jar selfcheck --device cpu --no-throughput > build/selfcheck-jre.log 2>&1; then
    echo "check-runtime: selfcheck on the jlink runtime: $(tail -1 build/selfcheck-jre.log)"
  else
    echo "check-runtime: selfcheck on the jlink runtime FAILED:"; tail -20 build/selfcheck-jre.log; fail=1
  fi
else
  echo "check-runtime: scripts/jlink.sh FAILED:"; echo "$out" | tail -20; fail=1
fi
if dry=$(JAVA=build/jre/bin/java OUT=$root/build/gpu-check-dry bash benchmarks/gpu-check.sh --dry-run 2>&1) && grep -q "dry-run: ok" <<<"$dry"; then
  echo "check-runtime: benchmarks/gpu-check.sh --dry-run: ok ($(grep -c '^dry-run: [a-z-]*:' <<<"$dry") stages)"
else
  echo "check-runtime: benchmarks/gpu-check.sh --dry-run FAILED:"; echo "$dry" | tail -20; fail=1
fi
exit $fail
