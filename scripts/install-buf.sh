#!/usr/bin/env bash
# Installs buf (the reference `buf breaking` the evolution agreement test compares hms-ffi with)
# from npm's @bufbuild/buf into target/tools/buf, and prints the binary's path. Idempotent: a
# second run with the same version installs nothing. No global state: npm's --prefix keeps the
# package (and the platform package holding the binary) under target/.
#
# Usage: scripts/install-buf.sh [--quiet]     (BUF_VERSION=1.75.0 and BUF_PREFIX=target/tools/buf
# by default; the agreement test looks in target/tools/buf, or where HMS_FFI_BUF says)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${BUF_VERSION:-1.75.0}"
prefix="${BUF_PREFIX:-$PWD/target/tools/buf}"
bin="$prefix/node_modules/.bin/buf"

if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$version" ]; then
  [ "${1:-}" = "--quiet" ] || echo "$bin"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-buf: npm is missing on this machine" >&2; exit 1; }
mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"private": true}' > "$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --no-save "@bufbuild/buf@$version" >&2
got="$("$bin" --version)"
[ "$got" = "$version" ] || { echo "install-buf: wanted buf $version, $bin says $got" >&2; exit 1; }
[ "${1:-}" = "--quiet" ] || echo "$bin"
