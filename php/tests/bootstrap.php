<?php
// PHPUnit bootstrap: the extension must be loaded (`php -d extension=…/hms_ffi.so`).

declare(strict_types=1);

if (!extension_loaded('hms_ffi')) {
    fwrite(STDERR, "the hms_ffi extension is not loaded: run `make test-php`\n");
    exit(1);
}

require __DIR__ . '/Conformance.php';
require __DIR__ . '/Semantics.php';
require __DIR__ . '/StreamVectors.php';
require __DIR__ . '/Child.php';
require __DIR__ . '/NatsServer.php';
