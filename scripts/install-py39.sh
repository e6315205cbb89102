#!/usr/bin/env bash
# Installs CPython 3.9 (the oldest Python the abi3 wheel is for) under target/tools/py39 and
# prints the interpreter's path, so `make test-dist-py` can install the wheel into a 3.9 venv.
# This machine's Debian (bookworm) ships 3.11 only; 3.9 is Debian bullseye's python3.9, fetched
# with `apt-get download` through a sources list of its own (the system's apt state is not
# touched) and unpacked with `dpkg -x`, with the bullseye libraries its modules link against
# (libffi7, libmpdec3, libssl1.1) and distutils, which Debian packs apart (pip needs it; run it with LD_LIBRARY_PATH=$(dirname bin)/../lib/x86_64-linux-gnu,
# which `--libs` prints). Idempotent; needs no terminal.
#
# Usage: scripts/install-py39.sh [--libs]   (PY39_PREFIX=target/tools/py39 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${PY39_PREFIX:-$PWD/target/tools/py39}"
bin="$prefix/root/usr/bin/python3.9"
libs="$prefix/root/usr/lib/x86_64-linux-gnu"
debs=(python3.9-minimal libpython3.9-minimal libpython3.9-stdlib python3.9 libpython3.9
  python3-distutils=3.9.2-1 python3-lib2to3=3.9.2-1 libffi7 libmpdec3 libssl1.1)

print() { if [ "${1:-}" = "--libs" ]; then echo "$libs"; else echo "$bin"; fi; }
if [ -x "$bin" ] && LD_LIBRARY_PATH="$libs" "$bin" -c 'import ctypes, decimal, ssl, distutils.cmd' 2>/dev/null; then
  print "${1:-}"; exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-py39: needs apt-get and dpkg (Debian)" >&2; exit 1; }
rm -rf "$prefix" && mkdir -p "$prefix/lists/partial" "$prefix/debs" "$prefix/root"
cat > "$prefix/bullseye.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_opts=(-q -o "Dir::Etc::sourcelist=$prefix/bullseye.sources" -o Dir::Etc::sourceparts=/dev/null
  -o "Dir::State::Lists=$prefix/lists" -o APT::Sandbox::User=root)
timeout 300 apt-get "${apt_opts[@]}" update >&2
(cd "$prefix/debs" && timeout 300 apt-get "${apt_opts[@]}" download "${debs[@]}" >&2)
for d in "$prefix"/debs/*.deb; do dpkg -x "$d" "$prefix/root"; done
got="$(LD_LIBRARY_PATH="$libs" "$bin" -c 'import ctypes, decimal, ssl, sys; print("%d.%d" % sys.version_info[:2])')"
[ "$got" = "3.9" ] || { echo "install-py39: $bin says Python $got, wanted 3.9" >&2; exit 1; }
print "${1:-}"
