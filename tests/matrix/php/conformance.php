<?php
// The PHP side of the cross-language matrix (tests/matrix/run.py); needs the hms_ffi extension.
//
//     php conformance.php serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
//     php conformance.php client unix:///tmp/x.sock   # every vector as a client

declare(strict_types=1);

require dirname(__DIR__, 3) . '/php/tests/Conformance.php';

use HmsFfi\Client;
use HmsFfi\Tests\Conformance;

[, $mode, $uri] = $argv;
if ($mode === 'serve') {
    $server = Conformance::server();
    $server->listen($uri);
    echo "ready\n";
    $server->serve();
    exit(0);
}
[$passed, $failures] = Conformance::runAll(Client::connect($uri));
foreach ($failures as $f) {
    echo "FAIL $f\n";
}
echo "$passed passed, " . count($failures) . " failed\n";
exit($failures === [] ? 0 : 1);
