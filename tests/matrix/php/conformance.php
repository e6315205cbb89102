<?php
// The PHP side of the cross-language matrix (tests/matrix/run.py); needs the hms_ffi extension.
//
//     php conformance.php serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
//     php conformance.php client unix:///tmp/x.sock   # every vector and semantics case as a client
//     php conformance.php streams grpc://127.0.0.1:P  # every streaming vector (schema given)
//
// The client prints `FAIL id: why` per failed vector and its `N passed, M failed`, then runs the
// call-semantics cases (`FAIL name: why`, `SKIP name: reason`) and the streaming ones (one SKIP
// line when the server does not stream), and ends with the totals of all,
// `N passed, M failed, K skipped`.

declare(strict_types=1);

require dirname(__DIR__, 3) . '/php/tests/Conformance.php';
require dirname(__DIR__, 3) . '/php/tests/Semantics.php';
require dirname(__DIR__, 3) . '/php/tests/StreamVectors.php';

use HmsFfi\Client;
use HmsFfi\Tests\Conformance;
use HmsFfi\Tests\Semantics;
use HmsFfi\Tests\StreamVectors;

[, $mode, $uri] = $argv;
if ($mode === 'serve') {
    $server = Conformance::server();
    $server->listen($uri);
    echo "ready\n";
    $server->serve();
    exit(0);
}
if ($mode === 'streams') {
    // Every streaming vector, with the conformance schema given (a server without discovery).
    [$passed, $failures] = StreamVectors::runAll(Client::connect($uri, Conformance::schema()));
    foreach ($failures as $f) {
        echo "FAIL $f\n";
    }
    echo "$passed passed, " . count($failures) . " failed\n";
    exit(count($failures) === 0 ? 0 : 1);
}
$client = Client::connect($uri);
[$passed, $failures] = Conformance::runAll($client);
foreach ($failures as $f) {
    echo "FAIL $f\n";
}
echo "$passed passed, " . count($failures) . " failed\n";
[$semPassed, $semFailures, $skipped] = Semantics::runAll($client, $uri);
foreach ($semFailures as $f) {
    echo "FAIL $f\n";
}
foreach ($skipped as $s) {
    echo "SKIP $s\n";
}
[$streamPassed, $streamFailures, $streamSkipped] = StreamVectors::runAll($client);
foreach ($streamFailures as $f) {
    echo "FAIL $f\n";
}
if ($streamSkipped > 0) {
    echo "SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); $streamSkipped cases\n";
}
$failed = count($failures) + count($semFailures) + count($streamFailures);
$skippedAll = count($skipped) + $streamSkipped;
echo ($passed + $semPassed + $streamPassed) . " passed, $failed failed, $skippedAll skipped\n";
exit($failed === 0 ? 0 : 1);
