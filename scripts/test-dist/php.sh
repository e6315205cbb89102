#!/usr/bin/env bash
# PHP's package (scripts/dist/php.sh) used the way a user uses it: the tarball unpacked in a
# fresh directory outside the checkout, the extension loaded with `php -d extension=` from there
# (no cargo on PATH, no php.ini of ours: -n), and the PHP greeter example run as a client of the
# Rust greeter server over unix://.
source "$(dirname "$0")/../dist/common.sh"
tarball="$(ls "$DIST"/php/php_hms_ffi-"$VERSION"_php*.tgz)"
dir="$(fresh_dir php)"
sock="$dir/greeter.sock"
nocargo="$(no_cargo_path)"

step "php: $(basename "$tarball") unpacked in $dir/ext"
mkdir -p "$dir/ext"
tar -C "$dir/ext" -xzf "$tarball"
ls -l "$dir/ext"
grep -qx "extension=hms_ffi" "$dir/ext/hms_ffi.ini" || { echo "FAIL: hms_ffi.ini" >&2; exit 1; }
copy_example php "$dir/app"
greeter_server "$sock"

step "php: the stubs name what the extension defines"
env PATH="$nocargo" timeout 60 php -n -d extension="$dir/ext/hms_ffi.so" -r '
  $missing = [];
  preg_match_all("/^(?:final |abstract )?(?:class|interface) (\w+)/m", file_get_contents($argv[1]), $m);
  foreach ($m[1] as $class) { if (!class_exists("HmsFfi\\$class") && !interface_exists("HmsFfi\\$class")) { $missing[] = $class; } }
  echo "hms_ffi ", phpversion("hms_ffi"), ": ", count($m[1]) - count($missing), " of ", count($m[1]), " stub classes defined\n";
  exit($missing ? 1 : 0);' "$dir/ext/hms_ffi.stubs.php"

step "php: greeter.php call, extension from the tarball, no cargo on PATH"
out="$(cd "$dir/app" && env PATH="$nocargo" timeout 60 \
  php -n -d extension="$dir/ext/hms_ffi.so" examples/php/greeter.php call "unix://$sock" Ada)"
echo "$out"
grep -q "SayHello -> 'Hello Ada" <<<"$out" || { echo "FAIL: no reply from the Rust server" >&2; exit 1; }

step "php: PHPUnit on scripts/test-dist/InstalledTest.php, extension from the tarball"
cp "$ROOT/scripts/test-dist/InstalledTest.php" "$dir/app/"
(cd "$dir/app" && env PATH="$nocargo" HMS_GREETER="unix://$sock" HMS_VERSION="$VERSION" \
  timeout 120 php -d extension="$dir/ext/hms_ffi.so" "${PHPUNIT:-/usr/bin/phpunit}" InstalledTest.php)
