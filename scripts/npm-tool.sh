#!/usr/bin/env bash
# Installs one pinned npm package that brings a command-line tool into a folder of its own under
# target/ (npm's --prefix: no global state, nothing in node/), and prints the tool's path.
# Idempotent: when the package is there at that version, it installs nothing. buf
# (scripts/install-buf.sh) and pyright (scripts/install-pyright.sh) come this way.
#
# Usage: scripts/npm-tool.sh PACKAGE VERSION PREFIX TOOL [--quiet]
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 PACKAGE VERSION PREFIX TOOL [--quiet]" >&2; exit 2; }
package=$1 version=$2 prefix=$3 quiet=${5:-}
bin="$prefix/node_modules/.bin/$4"
installed() { node -p "require(process.argv[1]).version" "$prefix/node_modules/$package/package.json" 2>/dev/null || true; }

if [ -x "$bin" ] && [ "$(installed)" = "$version" ]; then
  [ "$quiet" = "--quiet" ] || echo "$bin"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "npm-tool: npm is missing on this machine" >&2; exit 1; }
mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"private": true}' > "$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --no-save "$package@$version" >&2
got="$(installed)"
[ "$got" = "$version" ] || { echo "npm-tool: wanted $package $version, $prefix has '$got'" >&2; exit 1; }
[ "$quiet" = "--quiet" ] || echo "$bin"
