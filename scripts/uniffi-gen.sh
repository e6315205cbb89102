#!/usr/bin/env bash
# Regenerates the UniFFI bindings from the built cdylib (library mode):
#   kotlin/src/main/kotlin/io/github/hmsffi/ffi/hms_ffi_uniffi.kt   (Kotlin, JNA)
#   swift/Sources/HmsFfi/HmsFfi.swift                                (Swift)
#   swift/Sources/HmsFfiFFI/HmsFfiFFI.h + module.modulemap           (the C module under it)
# Settings come from uniffi.toml. With --check it writes nothing and fails when the committed
# files differ from what the current Rust code generates (CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

$CARGO build -q -p hms-ffi-uniffi --features bindgen
case "$(uname -s)" in Darwin) ext=dylib ;; *) ext=so ;; esac
lib=target/debug/libhms_ffi_uniffi.$ext
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT

for lang in kotlin swift; do
  target/debug/uniffi-bindgen generate --library "$lib" --language "$lang" \
    --config uniffi.toml --no-format --out-dir "$gen/$lang" >/dev/null
done

# Where each generated file lives in the repository.
out=$gen/tree
mkdir -p "$out/kotlin/src/main/kotlin" "$out/swift/Sources/HmsFfi" "$out/swift/Sources/HmsFfiFFI"
cp -r "$gen/kotlin/." "$out/kotlin/src/main/kotlin/"
cp "$gen/swift/HmsFfi.swift" "$out/swift/Sources/HmsFfi/HmsFfi.swift"
cp "$gen/swift/HmsFfiFFI.h" "$out/swift/Sources/HmsFfiFFI/HmsFfiFFI.h"
cp "$gen/swift/HmsFfiFFI.modulemap" "$out/swift/Sources/HmsFfiFFI/module.modulemap"

files=(kotlin/src/main/kotlin/io/github/hmsffi/ffi/hms_ffi_uniffi.kt
       swift/Sources/HmsFfi/HmsFfi.swift
       swift/Sources/HmsFfiFFI/HmsFfiFFI.h
       swift/Sources/HmsFfiFFI/module.modulemap)

if [ "${1:-}" = "--check" ]; then
  stale=0
  for f in "${files[@]}"; do
    if ! cmp -s "$out/$f" "$f"; then
      echo "uniffi-gen: $f is stale; run scripts/uniffi-gen.sh and commit the result" >&2
      diff -u "$f" "$out/$f" | head -20 >&2 || true
      stale=1
    fi
  done
  [ "$stale" = 0 ] && echo "uniffi-gen: ${#files[@]} generated files are current"
  exit "$stale"
fi
for f in "${files[@]}"; do
  mkdir -p "$(dirname "$f")"
  cp "$out/$f" "$f"
done
echo "uniffi-gen: wrote ${files[*]}"
