# PHP extension hms_ffi (php/, ext-php-rs): built with cargo, copied to target/php/hms_ffi.so and
# loaded with `php -d extension=$(CURDIR)/target/php/hms_ffi.so`; PHPUnit tests under php/tests.
# The package a user installs (a release .so, ini snippet and stubs in a tarball): scripts/dist/php.sh.
PHP        ?= php
PHPUNIT    ?= /usr/bin/phpunit
PHP_EXT    := target/php/hms_ffi.so
PHP_LOAD    = $(PHP) -d extension=$(CURDIR)/$(PHP_EXT)

TEST_TARGETS += test-php
DEMO_DEPS    += php-ext
MATRIX_DEPS  += php-ext
CLIPPY_PKGS  += -p hms-ffi-php

.PHONY: php-ext php-install php-stubs test-php bench-php bench-php-payloads

## php-ext: the extension in debug, as target/php/hms_ffi.so (a hard link to cargo's output).
php-ext:
	$(CARGO) build -p hms-ffi-php
	@mkdir -p target/php
	ln -f target/debug/libhms_ffi_php.so $(PHP_EXT)

## php-install: the extension (release) into PHP's extension dir, enabled by an ini snippet in
## PHP's scan dir (needs write access there, e.g. root).
php-install:
	$(CARGO) build --release -p hms-ffi-php
	install -m 0644 target/release/libhms_ffi_php.so $$(php-config --extension-dir)/hms_ffi.so
	echo "extension=hms_ffi" > $$(php-config --ini-dir)/20-hms_ffi.ini
	$(PHP) -r 'exit(extension_loaded("hms_ffi") ? 0 : 1);' && echo "hms_ffi installed and enabled"

## php-stubs: rewrite php/stubs/hms_ffi.stubs.php from the built extension (Reflection).
php-stubs: php-ext
	$(PHP_LOAD) php/scripts/stubs.php

## test-php: the stubs are current and PHPUnit passes (conformance as client and server,
## errors, types) against PHP, Rust and inproc servers.
test-php: php-ext cli-bin
	$(CARGO) build -p hms-ffi-core --example conformance
	$(PHP_LOAD) php/scripts/stubs.php --check
	HMS_FFI_EXT=$(CURDIR)/$(PHP_EXT) $(PHP_LOAD) $(PHPUNIT) -c php/phpunit.xml

## bench-php: 64-byte echo over unix: PHP client -> Python server and Python client -> PHP
## server, next to a raw PHP stream_socket_client echo, one run (release extension).
bench-php: py-install
	$(CARGO) build --release -p hms-ffi-php
	@mkdir -p target/php
	ln -f target/release/libhms_ffi_php.so target/php/hms_ffi-release.so
	$(PY_VENV)/bin/python benches/php/echo_bench.py --php "$(PHP) -d extension=$(CURDIR)/target/php/hms_ffi-release.so"

## bench-php-payloads: nested 64 B / 1 KiB / 64 KiB messages over unix, PHP -> PHP: hms-ffi vs a
## raw stream_socket echo (benches/php/payload_bench.php); the value walk against the protobuf C
## extension when one is loaded (none installs here; PHP has no native gRPC on this machine kind).
bench-php-payloads:
	$(CARGO) build --release -p hms-ffi-php
	@mkdir -p target/php
	ln -f target/release/libhms_ffi_php.so target/php/hms_ffi-release.so
	HMS_FFI_EXT=$(CURDIR)/target/php/hms_ffi-release.so \
	  $(PHP) -d extension=$(CURDIR)/target/php/hms_ffi-release.so benches/php/payload_bench.php
