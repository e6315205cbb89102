#!/usr/bin/env bash
# Kotlin's package into target/dist/kotlin/ (docs/packaging.md):
#   hms-ffi-VERSION.jar   the Kotlin classes (UniFFI-generated + idiomatic layer) and the release
#                         native library under JNA's resource path, linux-x86-64/ here, so it
#                         needs no jna.library.path (Maven profile `dist` of kotlin/pom.xml)
#   hms-ffi-VERSION.pom   its pom (the checkout's kotlin/pom.xml)
#   repo/                 a Maven repository holding both as io.github.hmsffi:hms-ffi:VERSION
#                         (deploy-file), which a project points at as a file:// repository
source "$(dirname "$0")/common.sh"
MVN="${MVN:-mvn}"
out="$DIST/kotlin"
rm -rf "$out"
mkdir -p "$out"
# JNA's resource prefix for this machine (com.sun.jna.Platform.RESOURCE_PREFIX): linux-x86-64,
# linux-aarch64.
case "$(uname -m)" in
  x86_64) prefix=linux-x86-64 ;;
  aarch64) prefix=linux-aarch64 ;;
  *) echo "kotlin: no JNA resource prefix known for $(uname -m)" >&2; exit 1 ;;
esac
native="$(fresh_dir kotlin-native)"

step "kotlin: release build of hms-ffi-uniffi"
release_build hms-ffi-uniffi
mkdir -p "$native/$prefix"
strip --strip-unneeded -o "$native/$prefix/libhms_ffi_uniffi.so" "$CARGO_TARGET_DIR/release/libhms_ffi_uniffi.so"

step "kotlin: the jar (mvn -Pdist package), native library at $prefix/libhms_ffi_uniffi.so"
build="$ROOT/target/kotlin-dist"
rm -rf "$build"
(cd "$ROOT/kotlin" && timeout 900 "$MVN" -q -B -Dstyle.color=never -Pdist package \
  -Dhms.native.dir="$native" -Dhms.dist.build.dir="$build")
cp "$build/hms-ffi-$VERSION.jar" "$out/hms-ffi-$VERSION.jar"
cp "$ROOT/kotlin/pom.xml" "$out/hms-ffi-$VERSION.pom"
unzip -l "$out/hms-ffi-$VERSION.jar" "$prefix/*"

step "kotlin: io.github.hmsffi:hms-ffi:$VERSION into the Maven repository $out/repo"
(cd "$out" && timeout 300 "$MVN" -q -B -Dstyle.color=never org.apache.maven.plugins:maven-deploy-plugin:2.7:deploy-file \
  -Dfile="hms-ffi-$VERSION.jar" -DpomFile="hms-ffi-$VERSION.pom" \
  -Durl="file://$out/repo" -DrepositoryId=hms-ffi-dist)
find "$out/repo" -name "hms-ffi-$VERSION.*" | sort
ls -l "$out"
