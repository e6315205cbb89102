#!/usr/bin/env bash
# Kotlin's package (scripts/dist/kotlin.sh) used the way a user uses it: a new Maven project in a
# fresh directory outside the checkout depends on io.github.hmsffi:hms-ffi:VERSION from the
# dist's Maven repository (a file:// repository in its pom), compiles the Kotlin greeter example
# (examples/kotlin/Greeter.kt) against it, and runs it — with no jna.library.path and no cargo on
# PATH, so the native library can only come from the jar — as a client of the Rust greeter
# server over unix://.
# The project has a local repository of its own (-Dmaven.repo.local), so our artifact is always
# the one just built and ~/.m2 is never written; ~/.m2/repository, when present, is one more
# file:// repository ahead of Maven Central, so the Kotlin plugin and libraries are copied, not
# downloaded.
source "$(dirname "$0")/../dist/common.sh"
MVN="${MVN:-mvn}"
repo="$DIST/kotlin/repo"
[ -f "$repo/io/github/hmsffi/hms-ffi/$VERSION/hms-ffi-$VERSION.jar" ] || { echo "no jar in $repo: make dist-kotlin" >&2; exit 1; }
kotlin_version="$(sed -n 's|.*<kotlin.version>\(.*\)</kotlin.version>.*|\1|p' "$ROOT/kotlin/pom.xml")"
# The checkout's own JUnit and Surefire, so the project needs nothing the checkout's build did not.
junit_version="$(grep -A1 '<artifactId>junit-jupiter</artifactId>' "$ROOT/kotlin/pom.xml" | sed -n 's|.*<version>\(.*\)</version>.*|\1|p' | head -1)"
surefire_version="$(grep -A1 '<artifactId>maven-surefire-plugin</artifactId>' "$ROOT/kotlin/pom.xml" | sed -n 's|.*<version>\(.*\)</version>.*|\1|p' | head -1)"
dir="$(fresh_dir kotlin)"
sock="$dir/greeter.sock"
cache=""
[ -d "$HOME/.m2/repository" ] && cache="<repository><id>m2-cache</id><url>file://$HOME/.m2/repository</url></repository>"

step "kotlin: a new Maven project depending on io.github.hmsffi:hms-ffi:$VERSION"
copy_example kotlin "$dir/app"
cat >"$dir/app/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>greeter</artifactId>
  <version>1</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <kotlin.compiler.jvmTarget>17</kotlin.compiler.jvmTarget>
  </properties>
  <repositories>
    <repository><id>hms-ffi-dist</id><url>file://$repo</url></repository>
    $cache
  </repositories>
  <pluginRepositories>
    ${cache//repository>/pluginRepository>}
  </pluginRepositories>
  <dependencies>
    <dependency>
      <groupId>io.github.hmsffi</groupId>
      <artifactId>hms-ffi</artifactId>
      <version>$VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>$junit_version</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <sourceDirectory>examples/kotlin</sourceDirectory>
    <testSourceDirectory>test</testSourceDirectory>
    <plugins>
      <plugin>
        <groupId>org.jetbrains.kotlin</groupId>
        <artifactId>kotlin-maven-plugin</artifactId>
        <version>$kotlin_version</version>
        <executions>
          <execution><id>compile</id><goals><goal>compile</goal></goals></execution>
          <execution><id>test-compile</id><goals><goal>test-compile</goal></goals></execution>
        </executions>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>$surefire_version</version>
      </plugin>
    </plugins>
  </build>
</project>
POM
(cd "$dir/app" && timeout 900 "$MVN" -q -B -Dstyle.color=never -Dmaven.repo.local="$dir/m2" compile \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -Dmdep.outputFile=classpath.txt)
jar="$(tr ':' '\n' <"$dir/app/classpath.txt" | grep "/hms-ffi-$VERSION.jar$")"
cmp -s "$jar" "$repo/io/github/hmsffi/hms-ffi/$VERSION/hms-ffi-$VERSION.jar" || { echo "FAIL: the project did not get the dist's jar ($jar)" >&2; exit 1; }
echo "compiled; the classpath has $(tr ':' '\n' <"$dir/app/classpath.txt" | wc -l) jars, hms-ffi from $jar"

step "kotlin: GreeterKt call, native library from the jar, no jna.library.path, no cargo on PATH"
greeter_server "$sock"
# run_greeter ARGS..: the example on the project's classpath; no LD_LIBRARY_PATH either.
run_greeter() {
  (cd "$dir/app" && env -u LD_LIBRARY_PATH PATH="$(no_cargo_path)" timeout 120 \
    java -cp "target/classes:$(cat classpath.txt)" GreeterKt "$@")
}
out="$(run_greeter call "unix://$sock" Ada)"
echo "$out"
grep -q "SayHello -> 'Hello Ada" <<<"$out" || { echo "FAIL: no reply from the Rust server" >&2; exit 1; }

step "kotlin: GreeterKt both: a Kotlin server and client in one process (inproc://)"
out="$(run_greeter both)"
echo "$out"
grep -q "SayHello -> 'Hello Ada from Kotlin" <<<"$out" || { echo "FAIL: no reply from the Kotlin server" >&2; exit 1; }

step "kotlin: JUnit (mvn test) on scripts/test-dist/InstalledTest.kt against the Rust server"
mkdir -p "$dir/app/test" && cp "$ROOT/scripts/test-dist/InstalledTest.kt" "$dir/app/test/"
(cd "$dir/app" && env -u LD_LIBRARY_PATH PATH="$(no_cargo_path):$(dirname "$(command -v "$MVN")")" HMS_GREETER="unix://$sock" \
  timeout 900 "$MVN" -B -Dstyle.color=never -Dmaven.repo.local="$dir/m2" test 2>&1 | grep -E "Tests run|FAIL|ERROR|BUILD")
grep -q 'failures="0"' "$dir"/app/target/surefire-reports/TEST-InstalledTest.xml || { echo "FAIL: JUnit" >&2; exit 1; }
grep -q 'errors="0"' "$dir"/app/target/surefire-reports/TEST-InstalledTest.xml || { echo "FAIL: JUnit" >&2; exit 1; }
