#!/usr/bin/env bash
# PHP's package into target/dist/php/ (docs/packaging.md): the release extension in a tarball
# named the way PIE looks up a prebuilt binary among a release's assets,
#   php_hms_ffi-VERSION_phpX.Y-ARCH-linux-glibc-{nts|zts}.tgz
# holding at its root hms_ffi.so (stripped), hms_ffi.ini (`extension=hms_ffi`), the stubs,
# composer.json (type php-ext, the PIE metadata), LICENSE and README.md (php/dist/README.md).
# The extension is built against the PHP that php-config names, and only loads into that PHP
# version and thread-safety mode.
source "$(dirname "$0")/common.sh"
out="$DIST/php"
php_minor="$(php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')"
ts="$(php -r 'echo PHP_ZTS ? "zts" : "nts";')"
arch="$(uname -m)"
name="php_hms_ffi-${VERSION}_php${php_minor}-${arch}-linux-glibc-${ts}"
rm -rf "$out"
mkdir -p "$out"
stage="$(fresh_dir php-stage)"

step "php: release build of hms-ffi-php (PHP $php_minor $ts)"
release_build hms-ffi-php
strip --strip-unneeded -o "$stage/hms_ffi.so" "$CARGO_TARGET_DIR/release/libhms_ffi_php.so"
# The library must load and report this package's version before it is packed.
loaded="$(php -n -d extension="$stage/hms_ffi.so" -r 'echo phpversion("hms_ffi");')"
[ "$loaded" = "$VERSION" ] || { echo "php: the built extension reports version '$loaded', not $VERSION" >&2; exit 1; }

step "php: $name.tgz"
echo "extension=hms_ffi" >"$stage/hms_ffi.ini"
cp "$ROOT/php/stubs/hms_ffi.stubs.php" "$ROOT/php/composer.json" "$ROOT/LICENSE" "$stage/"
cp "$ROOT/php/dist/README.md" "$stage/README.md"
tar -C "$stage" --owner=0 --group=0 --sort=name -czf "$out/$name.tgz" \
  hms_ffi.so hms_ffi.ini hms_ffi.stubs.php composer.json LICENSE README.md
glibc="$(objdump -T "$stage/hms_ffi.so" | sed -n 's/.*GLIBC_\([0-9.]*\).*/\1/p' | sort -V | tail -1)"
echo "needs glibc >= $glibc"
tar -tvzf "$out/$name.tgz"
ls -l "$out"
