#!/usr/bin/env bash
# Go: a new module outside the checkout gets github.com/hms-ffi/hms-ffi/go@v$VERSION from the
# module proxy `make dist-go` wrote (GOPROXY=file://…, then the public proxy for its own
# dependencies; GONOSUMDB because a local proxy's module is not in the checksum database), with
# a fresh module cache and no cargo on PATH, builds the greeter example with it, runs it
# against the Rust greeter server, and runs `go test` on a test that calls it.
source "$(dirname "$0")/../dist/common.sh"
GO="${GO:-go}"
module="$(sed -n 's/^module //p' "$ROOT/go/go.mod")"
work=$(fresh_dir go)
sock="$work/greeter.sock"
greeter_server "$sock"
copy_example go "$work"
app="$work/examples/go"
rm -f "$app/go.mod" "$app/go.sum"
cp "$ROOT/scripts/test-dist/installed_test.go" "$app/"

export GOPROXY="file://$DIST/go/proxy,$("$GO" env GOPROXY)"
export GONOSUMDB="${module%/go}" GOFLAGS=-modcacherw GOMODCACHE="$work/gomodcache" GOWORK=off
export PATH="$(no_cargo_path)"
cd "$app"
step "go get $module@v$VERSION (fresh module cache, no cargo on PATH)"
"$GO" mod init example.com/greeter
timeout 600 "$GO" get "$module@v$VERSION"
timeout 600 "$GO" mod tidy
step "the greeter example against the Rust server"
timeout 600 "$GO" build -o greeter .
timeout 60 ./greeter call "unix://$sock" Ada
step "go test"
HMS_GREETER="unix://$sock" timeout 600 "$GO" test -count=1 -v -run TestInstalled .
