#!/usr/bin/env bash
# Regenerates the typed bindings committed under gen/<lang>/ with `hms-ffi gen`, from the
# examples' schema and the conformance schema. With --check, generates into a temporary folder
# instead and fails, listing the differences, when the committed files are stale (a changed,
# missing or extra file). gen/go/go.mod and go.sum are written by hand and left alone.
#
# Usage: scripts/gen-typed.sh [--check]   (HMS_FFI_BIN: the hms-ffi binary, by default
#        $CARGO_TARGET_DIR/debug/hms-ffi or target/debug/hms-ffi; `make build` makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${HMS_FFI_BIN:-${CARGO_TARGET_DIR:-target}/debug/hms-ffi}"
[ -x "$bin" ] || { echo "gen-typed: $bin is missing: run make build" >&2; exit 1; }
protos=(examples/protos/greeter.proto tests/conformance/conformance.proto)
langs=(python typescript go ruby php kotlin rust)

out=gen
if [ "${1:-}" = "--check" ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
for lang in "${langs[@]}"; do
  if [ "$out" = gen ]; then
    find "gen/$lang" -type f ! -name go.mod ! -name go.sum -delete 2>/dev/null || true
  fi
  "$bin" gen --lang "$lang" --out "$out/$lang" "${protos[@]}" >/dev/null
done
[ "$out" = gen ] && exit 0

stale=0
for lang in "${langs[@]}"; do
  if ! diff -r -x go.mod -x go.sum "gen/$lang" "$out/$lang" >"$out/$lang.diff"; then
    echo "gen/$lang is stale:" >&2
    head -40 "$out/$lang.diff" >&2
    stale=1
  fi
done
[ "$stale" = 0 ] || { echo "run scripts/gen-typed.sh and commit gen/" >&2; exit 1; }
echo "gen/ is current (${langs[*]})"
