#!/usr/bin/env bash
# Installs Chromium from Debian's apt (the headless browser the monitoring page's test drives,
# core/tests/monitor_page.rs) and prints its path. Idempotent: when `chromium` is installed it
# installs nothing. Needs root (or sudo without a password) on a fresh machine; no terminal.
#
# Usage: scripts/install-chromium.sh [--quiet]
set -euo pipefail
say() { [ "${1:-}" = "--quiet" ] || command -v chromium; }
if command -v chromium >/dev/null 2>&1; then say "${1:-}"; exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "install-chromium: needs apt-get (Debian)" >&2; exit 1; }
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
install() { timeout 900 $sudo apt-get install -y -q --no-install-recommends chromium >&2; }
# A fresh machine may have no package lists yet: read them, then try again.
install || { timeout 300 $sudo apt-get update -q >&2 && install; }
command -v chromium >/dev/null 2>&1 || { echo "install-chromium: chromium still missing after apt-get" >&2; exit 1; }
say "${1:-}"
