#!/usr/bin/env bash
# Node: three installs, each in a new project outside the checkout, each running node:test on
# scripts/test-dist/test_installed_node.js and the greeter example's client against the Rust
# greeter server:
#   1. the package with its prebuilt platform package, no cargo on PATH;
#   2. the package alone (no prebuilt for npm to find): its install script builds the addon
#      from the Rust sources it carries, with cargo;
#   3. `npm install ./node` from a fresh copy of the checkout's files, as a contributor types it.
# Builds from source share this checkout's CARGO_TARGET_DIR, so crates.io dependencies compile once.
source "$(dirname "$0")/../dist/common.sh"
main_tgz="$DIST/node/hms-ffi-$VERSION.tgz"
platform_tgz="$DIST/node/hms-ffi-linux-x64-gnu-$VERSION.tgz"
work=$(fresh_dir node)
sock="$work/greeter.sock"
greeter_server "$sock"
npm_install() { (cd "$1" && shift && timeout 1800 npm install --no-audit --no-fund --loglevel=error "$@"); }

project() { # NAME: a new npm project with the example and the test
  mkdir -p "$work/$1" && (cd "$work/$1" && npm init -y >/dev/null)
  copy_example node "$work/$1"
  cp "$ROOT/scripts/test-dist/test_installed_node.js" "$work/$1/"
}
check() { # NAME
  (cd "$work/$1" && HMS_CHECKOUT="$ROOT" HMS_GREETER="unix://$sock" timeout 300 node --test test_installed_node.js)
  (cd "$work/$1" && timeout 60 node examples/node/greeter.js call "unix://$sock" Ada)
}

step "1. hms-ffi + hms-ffi-linux-x64-gnu ($(du -h "$platform_tgz" | cut -f1)), no cargo on PATH"
project prebuilt
PATH="$(no_cargo_path)" npm_install "$work/prebuilt" "$main_tgz" "$platform_tgz"
[ -d "$work/prebuilt/node_modules/hms-ffi-linux-x64-gnu" ] || { echo "the platform package was not installed"; exit 1; }
check prebuilt

step "2. hms-ffi alone ($(du -h "$main_tgz" | cut -f1)): built from the sources it carries"
project source
npm_install "$work/source" "$main_tgz"
ls "$work/source/node_modules/hms-ffi/"*.node
check source

step "3. npm install ./node in a fresh copy of the checkout"
copy_tracked . "$work/checkout" '^gen/\|^tests/\|^benches/node'
project contributor
npm_install "$work/contributor" "$work/checkout/node"
check contributor
