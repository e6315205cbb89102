<?php
// PHP's client of the fault proof (tests/faults/test_faults.py):
//   php -d extension=hms_ffi.so client.php PROTO RESILIENCE PREFIX CALLS CALLERS URI...
// PHP runs one caller (a PHP process has one thread; CALLERS must be 1): CALLS calls of
// res.v1.Counter/Get (IDEMPOTENT), then of res.v1.Counter/Add, with ids PREFIX-KIND-0-N; each
// reply must carry its own id. Prints one JSON line (see client.py).
declare(strict_types=1);

[, $proto, $resilience, $prefix, $calls, $callers] = $argv;
$uris = array_slice($argv, 6);
if ((int) $callers !== 1) {
    fwrite(STDERR, "PHP runs one caller: CALLERS must be 1\n");
    exit(2);
}
$client = \HmsFfi\Client::connect($uris, \HmsFfi\Schema::load($proto), ['resilience' => $resilience]);
$summary = ['get' => ['ok' => 0, 'unavailable' => 0], 'add' => ['ok' => 0, 'unavailable' => 0],
            'wrong' => 0, 'other' => 0, 'errors' => []];
foreach (['get' => 'res.v1.Counter/Get', 'add' => 'res.v1.Counter/Add'] as $kind => $method) {
    for ($n = 0; $n < (int) $calls; $n++) {
        $id = "$prefix-$kind-0-$n";
        try {
            $reply = $client->call($method, ['id' => $id], ['timeout' => 20]);
        } catch (\HmsFfi\UnavailableException $e) {
            $summary[$kind]['unavailable']++;
            continue;
        } catch (\Throwable $e) {
            $summary['other']++;
            if (count($summary['errors']) < 10) {
                $summary['errors'][] = "$id: " . get_class($e) . ': ' . $e->getMessage();
            }
            continue;
        }
        if (($reply['id'] ?? null) === $id) {
            $summary[$kind]['ok']++;
        } else {
            $summary['wrong']++;
            if (count($summary['errors']) < 10) {
                $summary['errors'][] = "$id: got the reply of " . json_encode($reply['id'] ?? null);
            }
        }
    }
}
$client->close();
echo json_encode($summary), "\n";
