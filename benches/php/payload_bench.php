<?php
// Nested messages of 64 B, 1 KiB and 64 KiB (benches/protos/orders.proto), PHP client -> PHP
// server over a unix socket, in one run (issue 16's payload benches; `make bench-php-payloads`):
//
//   * hms-ffi unix: `$client->call($method, $order)` with the array a PHP program holds; the
//     server, a process of its own, echoes the array;
//   * raw: stream_socket_client -> stream_socket_server echoing the encoded Order behind a
//     4-byte length (the floor);
//   * hms-ffi inproc: the same call to a server in this process (both ends' value walks, no
//     socket; PHP serves on its own thread, so the client and server take turns);
//   * google/protobuf walk, when Debian's php-google-protobuf is loaded: what that inproc call
//     does with the stock library and no call, twice array -> message -> bytes -> message ->
//     array (the array through the JSON mapping, as `json_decode(serializeToJsonString())`).
//
// PHP has no native gRPC here (no grpc extension in Debian, PECL is not reachable).
//
//     php payload_bench.php [N]            run every row (N sequential calls per row)
//     php payload_bench.php serve PATH     the hms_ffi echo server (prints "ready")
//     php payload_bench.php raw-serve PATH the raw length-prefixed echo server

declare(strict_types=1);

namespace Bench\V1 {
    if (class_exists(\Google\Protobuf\Internal\Message::class)) {
        /** google/protobuf's class for bench.v1.Order (its pool is filled at run time). */
        class Order extends \Google\Protobuf\Internal\Message
        {
        }

        /** google/protobuf's class for bench.v1.Item. */
        class Item extends \Google\Protobuf\Internal\Message
        {
        }
    }
}

namespace {
    const METHOD = 'bench.v1.Orders/Echo';
    const SIZES = [64, 1024, 65536];

    function schema(): HmsFfi\Schema
    {
        return HmsFfi\Schema::fromSource('orders.proto', file_get_contents(__DIR__ . '/../protos/orders.proto'));
    }

    /** An Order of about `$size` bytes on the wire (benches/python/payload_bench.py's). */
    function order(int $size): array
    {
        if ($size < 100) {
            return ['id' => 'order-0001', 'payload' => str_repeat("\0", $size - 16), 'status' => 2];
        }
        $items = [];
        for ($i = 0; $i < intdiv($size, 100); $i++) {
            $items[] = [
                'name' => "item number $i", 'id' => 1000000 + $i, 'price' => 9.99 + $i,
                'tags' => ['red', 'large', "t$i"],
                'blob' => implode('', array_map('chr', range($i % 7, $i % 7 + 47))),
            ];
        }
        return ['id' => 'order-0001', 'items' => $items, 'labels' => ['region' => 'eu-west', 'tier' => 'gold'],
            'payload' => str_repeat("\0", 16), 'status' => 2];
    }

    /** The files of a serialized FileDescriptorSet (field 1, length-delimited). */
    function descriptor_files(string $set): array
    {
        $files = [];
        $at = 0;
        $varint = function () use ($set, &$at): int {
            $n = 0;
            for ($shift = 0; ; $shift += 7) {
                $b = ord($set[$at++]);
                $n |= ($b & 0x7f) << $shift;
                if ($b < 0x80) {
                    return $n;
                }
            }
        };
        while ($at < strlen($set)) {
            $key = $varint();
            if ($key !== 0x0a) {
                throw new RuntimeException("unexpected field key $key in the descriptor set");
            }
            $len = $varint();
            $files[] = substr($set, $at, $len);
            $at += $len;
        }
        return $files;
    }

    /** google/protobuf's walk, or the reason it cannot run. */
    function stock_walk(): callable|string
    {
        if (!class_exists(\Bench\V1\Order::class)) {
            return 'php-google-protobuf is not loaded';
        }
        $pool = \Google\Protobuf\Internal\DescriptorPool::getGeneratedPool();
        foreach (descriptor_files(schema()->toDescriptorSet()) as $file) {
            $pool->internalAddGeneratedFile($file, true);
        }
        return function (array $data): array {
            $out = $data;
            for ($i = 0; $i < 2; $i++) {
                $wire = (new \Bench\V1\Order($data))->serializeToString();
                $back = new \Bench\V1\Order();
                $back->mergeFromString($wire);
                $out = json_decode($back->serializeToJsonString(), true);
            }
            return $out;
        };
    }

    /** Warms up, then `$n` timed calls of `$call`: [p50, p99] in µs. */
    function measure(callable $call, int $n): array
    {
        for ($i = 0; $i < min(100, $n); $i++) {
            $call();
        }
        $times = [];
        for ($i = 0; $i < $n; $i++) {
            $t = hrtime(true);
            $call();
            $times[] = (hrtime(true) - $t) / 1000;
        }
        sort($times);
        return [$times[intdiv($n, 2)], $times[min($n - 1, intdiv($n * 99, 100))]];
    }

    function start(array $cmd): array
    {
        $proc = proc_open($cmd, [1 => ['pipe', 'w']], $pipes);
        if (trim((string) fgets($pipes[1])) !== 'ready') {
            throw new RuntimeException(implode(' ', $cmd) . ' did not start');
        }
        return [$proc, $pipes];
    }

    function read_exact($conn, int $n): string
    {
        $got = '';
        while (strlen($got) < $n && ($more = fread($conn, $n - strlen($got))) !== false && $more !== '') {
            $got .= $more;
        }
        return $got;
    }

    $mode = $argv[1] ?? '';
    if ($mode === 'serve') {
        $server = new HmsFfi\Server(schema());
        $server->method(METHOD, fn(array $req, HmsFfi\Context $ctx): array => $req);
        $server->listen("unix://{$argv[2]}");
        echo "ready\n";
        $server->serve();
        exit(0);
    }
    if ($mode === 'raw-serve') {
        $listener = stream_socket_server("unix://{$argv[2]}", $errno, $errstr);
        echo "ready\n";
        while ($conn = stream_socket_accept($listener, -1)) {
            while (strlen($head = read_exact($conn, 4)) === 4) {
                fwrite($conn, $head . read_exact($conn, unpack('N', $head)[1]));
            }
            fclose($conn);
        }
        exit(0);
    }

    $n = (int) ($mode !== '' ? $mode : 2000);
    $dir = sys_get_temp_dir() . '/hms-php-payload-' . getmypid();
    mkdir($dir);
    // The servers load the extension this process was given (HMS_FFI_EXT, as `make` passes it).
    $ext = getenv('HMS_FFI_EXT');
    $php = $ext ? [PHP_BINARY, "-dextension=$ext"] : [PHP_BINARY];
    $servers = [start(array_merge($php, [__FILE__, 'serve', "$dir/hms.sock"])),
        start(array_merge($php, [__FILE__, 'raw-serve', "$dir/raw.sock"]))];
    try {
        $client = HmsFfi\Client::connect("unix://$dir/hms.sock");
        $raw = stream_socket_client("unix://$dir/raw.sock");
        $local = new HmsFfi\Server(schema());
        $local->method(METHOD, fn(array $req, HmsFfi\Context $ctx): array => $req);
        $local->listen('inproc://php-payload');
        $inproc = HmsFfi\Client::connect('inproc://php-payload');
        $walk = stock_walk();
        // The encoded sizes of these orders (the same in every language's bench).
        $wire = [64 => 64, 1024 => 1025, 65536 => 65345];
        printf("%-22s %6s %9s %9s\n", 'row', 'size', 'p50 µs', 'p99 µs');
        foreach (SIZES as $size) {
            $data = order($size);
            $body = is_callable($walk) ? (new \Bench\V1\Order($data))->serializeToString() : str_repeat('x', $wire[$size]);
            $rows = [
                'hms-ffi unix' => fn() => $client->call(METHOD, $data),
                'raw stream_socket' => function () use ($raw, $body) {
                    fwrite($raw, pack('N', strlen($body)) . $body);
                    read_exact($raw, unpack('N', read_exact($raw, 4))[1]);
                },
                'hms-ffi inproc' => fn() => $inproc->call(METHOD, $data),
            ];
            if (is_callable($walk)) {
                $rows['google/protobuf walk'] = fn() => $walk($data);
            }
            if ($client->call(METHOD, $data)['payload'] !== $data['payload']) {
                throw new RuntimeException('hms-ffi echo differs');
            }
            $p = [];
            foreach ($rows as $name => $call) {
                $p[$name] = measure($call, $n);
                printf("%-22s %6d %9.1f %9.1f\n", $name, $size, ...$p[$name]);
            }
            printf("  %d B: hms/raw p50 = %.2f (target <= 2)%s\n", $size, $p['hms-ffi unix'][0] / $p['raw stream_socket'][0],
                is_callable($walk) ? sprintf(', inproc/google-protobuf walk p50 = %.2f (target <= 1 at 1 KiB)',
                    $p['hms-ffi inproc'][0] / $p['google/protobuf walk'][0]) : '');
        }
        if (!is_callable($walk)) {
            echo "google/protobuf walk: $walk\n";
        }
    } finally {
        foreach ($servers as [$proc]) {
            proc_terminate($proc, 9);
            proc_close($proc);
        }
        array_map('unlink', glob("$dir/*"));
        rmdir($dir);
    }
}
