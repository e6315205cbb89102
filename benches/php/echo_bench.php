<?php
// The PHP side of benches/php/echo_bench.py (64-byte echo over unix sockets); needs hms_ffi.
//
//     php echo_bench.php serve URI            hms_ffi echo server (prints "ready")
//     php echo_bench.php client URI N         N timed hms_ffi calls; prints one JSON line of µs
//     php echo_bench.php raw-serve PATH       stream_socket_server echo of 64-byte frames
//     php echo_bench.php raw-client PATH N    N timed 64-byte round trips with stream_socket_client

declare(strict_types=1);

const PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }';
const METHOD = 'bench.v1.Echo/Echo';

/** Warms up, then times `$n` calls of `$call`; prints p50, p99, mean (µs) and calls/s. */
function measure(callable $call, int $n): void
{
    for ($i = 0; $i < min(200, $n); $i++) {
        $call();
    }
    $times = [];
    $start = hrtime(true);
    for ($i = 0; $i < $n; $i++) {
        $t = hrtime(true);
        $call();
        $times[] = (hrtime(true) - $t) / 1000;
    }
    $total = (hrtime(true) - $start) / 1e9;
    sort($times);
    echo json_encode([
        'p50' => $times[intdiv($n, 2)],
        'p99' => $times[min($n - 1, intdiv($n * 99, 100))],
        'mean' => array_sum($times) / $n,
        'calls_per_s' => $n / $total,
    ]), "\n";
}

[, $mode, $where] = $argv;
$n = (int) ($argv[3] ?? 0);
$payload = implode('', array_map('chr', range(0, 63)));

switch ($mode) {
    case 'serve':
        $server = new HmsFfi\Server(HmsFfi\Schema::fromSource('echo.proto', PROTO));
        $server->method(METHOD, fn(array $req, HmsFfi\Context $ctx): array => $req);
        $server->listen($where);
        echo "ready\n";
        $server->serve();
        break;
    case 'client':
        $client = HmsFfi\Client::connect($where);
        $req = ['data' => $payload];
        if ($client->call(METHOD, $req)['data'] !== $payload) {
            throw new RuntimeException('echo mismatch');
        }
        measure(fn() => $client->call(METHOD, $req), $n);
        break;
    case 'raw-serve':
        @unlink($where);
        $server = stream_socket_server("unix://$where", $errno, $errstr);
        if ($server === false) {
            throw new RuntimeException($errstr);
        }
        echo "ready\n";
        while ($conn = stream_socket_accept($server, -1)) {
            while (($frame = fread($conn, 64)) !== false && $frame !== '') {
                while (strlen($frame) < 64 && ($more = fread($conn, 64 - strlen($frame))) !== false && $more !== '') {
                    $frame .= $more;
                }
                fwrite($conn, $frame);
            }
            fclose($conn);
        }
        break;
    case 'raw-client':
        $conn = stream_socket_client("unix://$where", $errno, $errstr);
        if ($conn === false) {
            throw new RuntimeException($errstr);
        }
        measure(function () use ($conn, $payload) {
            fwrite($conn, $payload);
            $got = '';
            while (strlen($got) < 64) {
                $got .= fread($conn, 64 - strlen($got));
            }
        }, $n);
        break;
    default:
        fwrite(STDERR, "unknown mode $mode\n");
        exit(2);
}
