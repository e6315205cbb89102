#!/usr/bin/env bash
# Installs pyright (Microsoft's Python type checker, which scripts/check-typed.sh runs in strict
# mode over gen/python and the Python typed examples, beside mypy --strict) from npm into
# target/tools/pyright, and prints the binary's path (scripts/npm-tool.sh: idempotent, no
# global state).
#
# Usage: scripts/install-pyright.sh [--quiet]  (PYRIGHT_VERSION=1.1.414 and
# PYRIGHT_PREFIX=target/tools/pyright by default)
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/npm-tool.sh pyright "${PYRIGHT_VERSION:-1.1.414}" "${PYRIGHT_PREFIX:-$PWD/target/tools/pyright}" pyright "$@"
