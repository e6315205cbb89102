#!/usr/bin/env bash
# Go: the module github.com/hms-ffi/hms-ffi/go as `go get` receives it — the Go sources, the C
# header and the prebuilt static library of the C ABI for this platform (debug info stripped),
# nothing outside the module — as a directory tree and as a module proxy (GOPROXY=file://…)
# serving it at v$VERSION.
#   target/dist/go/module/      the module's files (what the release tag holds)
#   target/dist/go/proxy/       github.com/hms-ffi/hms-ffi/go/@v/{list,vX.info,vX.mod,vX.zip}
source "$(dirname "$0")/common.sh"
GO="${GO:-go}"
platform="$("$GO" env GOOS)_$("$GO" env GOARCH)"
module="$(sed -n 's/^module //p' "$ROOT/go/go.mod")"
out="$DIST/go"
rm -rf "$out" && mkdir -p "$out/module"

step "C ABI (release, static) for $platform"
release_build hms-ffi-capi
mkdir -p "$out/module/lib/$platform"
cp "$CARGO_TARGET_DIR/release/libhms_ffi.a" "$out/module/lib/$platform/"
strip --strip-debug "$out/module/lib/$platform/libhms_ffi.a"

step "module tree $module"
# The module's own files: tracked sources (no test data of other modules, no local builds).
copy_tracked go "$out/module"
cp "$ROOT/LICENSE" "$out/module/"
python3 "$ROOT/scripts/dist/go_proxy.py" "$out/module" "$module" "v$VERSION" "$out/proxy"
ls -l "$out/module/lib/$platform" "$out/proxy/$module/@v"
