#!/usr/bin/env bash
# Developer loop: rebuild the native module into an existing venv without a full pip install.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-../target/py-venv}
"$VENV/bin/pip" install -q maturin >/dev/null
VIRTUAL_ENV="$(cd "$VENV" && pwd)" "$VENV/bin/maturin" develop -q --release
