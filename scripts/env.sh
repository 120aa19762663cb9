# Sourced by wmss.sh, .ci/run and benchmarks/run.sh: picks a JDK 25 and defines wmss_mvn.
# Maven's repository lives inside the checkout (.m2/), so nothing is cached outside the repo.
wmss_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

wmss_find_jdk() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/javac" ] || continue
    if "$c/bin/java" -version 2>&1 | head -1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if ! JAVA_HOME=$(wmss_find_jdk); then
  echo "wmss: no JDK 25 found (looked at \$JAVA_HOME and /usr/lib/jvm/*)." >&2
  echo "      Install one (e.g. Eclipse Temurin 25) and set JAVA_HOME=/path/to/jdk-25, then run this again." >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"

wmss_mvn() {
  # Maven 3.8.7's Guice uses sun.misc.Unsafe, which JDK 25 warns about on every run
  MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
  mvn -B -ntp -Dstyle.color=never -Dmaven.repo.local="$wmss_root/.m2/repository" -f "$wmss_root/pom.xml" "$@"
}
