'use strict'
// Runs when npm installs the `hms-ffi` package. The native addon normally comes prebuilt in the
// platform package npm picked from optionalDependencies (hms-ffi-linux-x64-gnu, …). When none
// matches this machine — or the package is installed from a checkout (`npm install ./node`) —
// this script builds the addon from the Rust sources with cargo (release): the sources the
// published package carries under rust/, or the checkout's workspace one directory up.
// With neither a prebuilt addon nor cargo, it fails and says what to do.
//
// Settings (environment): HMS_FFI_BUILD_FROM_SOURCE=1 builds even when a prebuilt addon loads;
// CARGO (default cargo) and CARGO_TARGET_DIR are cargo's own.
const { execFileSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const pkg = path.resolve(__dirname, '..')

function triple() {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  const report = process.report && process.report.getReport ? process.report.getReport() : null
  const glibc = report && report.header && report.header.glibcVersionRuntime
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`
}

function prebuiltLoads() {
  try {
    require(path.join(pkg, 'binding.js'))
    return true
  } catch (e) {
    return false
  }
}

function workspace() {
  for (const dir of [path.join(pkg, 'rust'), path.join(pkg, '..')]) {
    const manifest = path.join(dir, 'Cargo.toml')
    if (fs.existsSync(manifest) && fs.readFileSync(manifest, 'utf8').includes('[workspace]')) return dir
  }
  return null
}

function cargoWorks(cargo) {
  try {
    execFileSync(cargo, ['--version'], { stdio: 'ignore' })
    return true
  } catch (e) {
    return false
  }
}

function build() {
  const ws = workspace()
  const cargo = process.env.CARGO || 'cargo'
  const name = `hms-ffi.${triple()}.node`
  if (!ws || !cargoWorks(cargo)) {
    const missing = ws ? `cargo (${cargo}) is not on PATH` : 'this package carries no Rust sources'
    console.error(
      `hms-ffi: no prebuilt addon for ${triple()} loads here, and it cannot be built: ${missing}.\n` +
        '  Install the Rust toolchain (https://rustup.rs) and reinstall, or use a platform with a prebuilt\n' +
        `  package (hms-ffi-linux-x64-gnu). Looked for ${name} and the optional platform package.`
    )
    process.exit(1)
  }
  const target = process.env.CARGO_TARGET_DIR || path.join(ws, 'target')
  console.error(`hms-ffi: building the native addon from source (cargo build --release in ${ws})`)
  execFileSync(cargo, ['build', '--release', '-p', 'hms-ffi-node', '--manifest-path', path.join(ws, 'Cargo.toml')], {
    stdio: 'inherit',
    env: { ...process.env, CARGO_TARGET_DIR: target },
  })
  const lib = { darwin: 'libhms_ffi_node.dylib', win32: 'hms_ffi_node.dll' }[process.platform] || 'libhms_ffi_node.so'
  fs.copyFileSync(path.join(target, 'release', lib), path.join(pkg, name))
  if (!prebuiltLoads()) {
    console.error(`hms-ffi: built ${name}, but it does not load`)
    process.exit(1)
  }
}

// A developer's `npm ci` inside node/ itself installs the tools that build the addon (napi):
// nothing to do then.
if (process.env.INIT_CWD && path.resolve(process.env.INIT_CWD) === pkg) process.exit(0)
if (process.env.HMS_FFI_BUILD_FROM_SOURCE === '1' || !prebuiltLoads()) build()
