<?php
// PHP's link of the chain (chain.proto, tests/interop/test_chain_trace.py):
//     php -d extension=hms_ffi.so hop.php URI
// serves chain.v1.Chain/Call until killed and prints "ready". A hop calls `next[0]` from inside
// its handler with the rest of the chain and passes nothing of the incoming call by hand: the
// call inherits its deadline, cancellation and trace. The last link answers with what it saw.
declare(strict_types=1);

$clients = [];
$server = new HmsFfi\Server(HmsFfi\Schema::load(__DIR__ . '/chain.proto'));
$server->method('chain.v1.Chain/Call', function (array $req, HmsFfi\Context $ctx) use (&$clients): array {
    $next = $req['next'] ?? [];
    if ($next === []) {
        $left = $ctx->timeRemaining();
        return ['lang' => 'php', 'left_ms' => $left === null ? -1.0 : $left * 1000, 'cancelled' => false];
    }
    $uri = array_shift($next);
    $clients[$uri] ??= HmsFfi\Client::connect($uri);
    return $clients[$uri]->call('chain.v1.Chain/Call', [
        'next' => $next,
        'sleep_ms' => $req['sleep_ms'] ?? 0,
        'tag' => $req['tag'] ?? '',
    ]);
});
$server->listen($argv[1]);
echo "ready\n";
$server->serve();
