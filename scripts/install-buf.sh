#!/usr/bin/env bash
# Installs buf (the reference `buf breaking` the evolution agreement test compares hms-ffi with,
# and the `buf generate` the typed bindings' plugin test runs) from npm's @bufbuild/buf into
# target/tools/buf, and prints the binary's path (scripts/npm-tool.sh: idempotent, no global
# state).
#
# Usage: scripts/install-buf.sh [--quiet]     (BUF_VERSION=1.75.0 and BUF_PREFIX=target/tools/buf
# by default; the agreement test looks in target/tools/buf, or where HMS_FFI_BUF says)
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/npm-tool.sh @bufbuild/buf "${BUF_VERSION:-1.75.0}" "${BUF_PREFIX:-$PWD/target/tools/buf}" buf "$@"
