#!/usr/bin/env bash
# The library as a user takes it: `./wmss.sh install-library REPO` puts the artifacts into a Maven repository, and a
# project of its own, with exactly the README's dependency snippet and its Java example, builds from that repository
# alone (offline: this checkout's plugins, but no dev.wmss artifact but those installed) and runs.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
work=$(mktemp -d "$root/target/check-library.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo"
# the build's plugins and their dependencies (hard links), without the project's own artifacts
(cd "$root/.m2/repository" && find . -path ./dev/wmss -prune -o -type f -print | cpio -pdml --quiet "$repo" 2>/dev/null) \
  || cp -r "$root/.m2/repository/." "$repo"
rm -rf "$repo/dev/wmss"
if ! out=$(bash "$root/wmss.sh" install-library "$repo" 2>&1); then
  echo "check-library: ./wmss.sh install-library FAILED:"; echo "$out" | tail -5; exit 1
fi
proj="$work/user"
mkdir -p "$proj/src/main/java"
snippet=$(awk '/^```xml$/{x=1;next} x&&/^```$/{exit} x' <(sed -n '/## Using the kernels from Java/,$p' "$root/README.md"))
python3 - "$root/README.md" "$proj/src/main/java" <<'PY'
import re, sys, pathlib
m = re.search(r"<!-- README-EXAMPLE (\w+)\.java -->\n```java\n(.*?)```", open(sys.argv[1]).read(), re.S)
pathlib.Path(sys.argv[2], m.group(1) + ".java").write_text(m.group(2))
PY
plugins=$(sed -n 's/.*<artifactId>\(maven-[a-z]*-plugin\)<\/artifactId><version>\([^<]*\)<.*/<plugin><groupId>org.apache.maven.plugins<\/groupId><artifactId>\1<\/artifactId><version>\2<\/version><\/plugin>/p' "$root/pom.xml")
cat > "$proj/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId><artifactId>user</artifactId><version>1</version>
  <properties><maven.compiler.release>25</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies>
$snippet
  </dependencies>
  <build><pluginManagement><plugins>$plugins</plugins></pluginManagement></build>
</project>
POM
# package: the compile and the runtime scope both resolved (the natives jar is a runtime dependency)
if ! out=$(MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow" mvn -o -B -q -Dmaven.repo.local="$repo" -f "$proj/pom.xml" package 2>&1); then
  echo "check-library: a project with the README's snippet does not build from the installed artifacts:"; echo "$out" | tail -15; exit 1
fi
if ! run=$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dwmss.cache.dir="$work/cache" \
           -cp "$proj/target/classes:$(ls "$repo"/dev/wmss/wmss-kernels/*/wmss-kernels-*[0-9T].jar | head -1):$(ls "$repo"/dev/wmss/wmss-natives/*/wmss-natives-*-linux-x86_64.jar | head -1)" \
           KernelsExample 2>&1); then
  echo "check-library: the README's example FAILED:"; echo "$run" | tail -10; exit 1
fi
echo "check-library: README snippet + example from ./wmss.sh install-library: $run"
