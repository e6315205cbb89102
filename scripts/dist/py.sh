#!/usr/bin/env bash
# Python: an abi3 wheel (one wheel for CPython >= 3.9) tagged with the oldest manylinux its
# symbols allow (maturin's auditwheel check), and an sdist that builds from source with cargo.
#   target/dist/py/hms_ffi-VERSION-cp39-abi3-manylinux_*.whl, hms_ffi-VERSION.tar.gz
source "$(dirname "$0")/common.sh"
# A venv of its own for maturin (the checkout's target/py-venv is make's, with its test tools).
tools="$ROOT/target/dist-tools-venv"
[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
"$tools/bin/pip" install -q "maturin>=1.16,<2"
out="$DIST/py"
rm -rf "$out" && mkdir -p "$out"
step "wheel (release, abi3, manylinux checked by maturin)"
"$tools/bin/maturin" build --release --auditwheel check -m "$ROOT/py/Cargo.toml" --out "$out"
step "sdist"
"$tools/bin/maturin" sdist -m "$ROOT/py/Cargo.toml" --out "$out"
ls -l "$out"
