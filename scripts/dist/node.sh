#!/usr/bin/env bash
# Node: napi-rs's layout — the `hms-ffi` package (JavaScript, types, the install script and the
# Rust sources under rust/ for a build from source) with optionalDependencies on one platform
# package per target holding the prebuilt release addon (here hms-ffi-linux-x64-gnu).
#   target/dist/node/hms-ffi-VERSION.tgz, hms-ffi-linux-x64-gnu-VERSION.tgz
source "$(dirname "$0")/common.sh"
out="$DIST/node"
rm -rf "$out" && mkdir -p "$out/platform" "$out/main"
triple=linux-x64-gnu
platform_pkg="hms-ffi-$triple"

step "addon (release)"
release_build hms-ffi-node
cp "$CARGO_TARGET_DIR/release/libhms_ffi_node.so" "$out/platform/hms-ffi.$triple.node"
strip --strip-debug "$out/platform/hms-ffi.$triple.node"
cp "$ROOT/LICENSE" "$out/platform/"
cp "$ROOT/LICENSE" "$out/main/"

step "packages"
(cd "$ROOT/node" && cp -r index.js index.d.ts binding.js binding.d.ts lib package.json "$out/main/")
mkdir -p "$out/main/scripts" && cp "$ROOT/node/scripts/install.js" "$out/main/scripts/"
stage_crates "$out/main/rust" node >/dev/null
# What napi-rs's `prepublish` does: the platform packages, and the main package's
# optionalDependencies on them (the checkout's package.json names none, so `npm ci` there works).
VERSION="$VERSION" TRIPLE="$triple" PLATFORM_PKG="$platform_pkg" node - "$out" <<'JS'
const fs = require('fs')
const path = require('path')
const out = process.argv[2]
const { VERSION, TRIPLE, PLATFORM_PKG } = process.env
const main = JSON.parse(fs.readFileSync(path.join(out, 'main/package.json'), 'utf8'))
main.optionalDependencies = { [PLATFORM_PKG]: VERSION }
delete main.devDependencies
fs.writeFileSync(path.join(out, 'main/package.json'), JSON.stringify(main, null, 2) + '\n')
const [os, cpu, libc] = TRIPLE.split('-')
const platform = {
  name: PLATFORM_PKG,
  version: VERSION,
  description: `The prebuilt native addon of hms-ffi for ${TRIPLE}`,
  license: main.license,
  repository: main.repository,
  main: `hms-ffi.${TRIPLE}.node`,
  files: [`hms-ffi.${TRIPLE}.node`, 'LICENSE'],
  os: [os],
  cpu: [cpu],
  ...(libc ? { libc: [libc === 'gnu' ? 'glibc' : libc] } : {}),
  engines: main.engines,
}
fs.writeFileSync(path.join(out, 'platform/package.json'), JSON.stringify(platform, null, 2) + '\n')
JS
(cd "$out/platform" && npm pack --pack-destination "$out" --loglevel=error >/dev/null)
(cd "$out/main" && npm pack --pack-destination "$out" --loglevel=error >/dev/null)
ls -l "$out"/*.tgz
