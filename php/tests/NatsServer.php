<?php
// A nats-server of the test's own on a free port while a callable runs (skipped, saying so, only
// when nats-server is not installed: scripts/install-nats.sh); with `$jetstream` it stores
// streams in a temporary directory removed afterwards.

declare(strict_types=1);

namespace HmsFfi\Tests;

trait NatsServer
{
    /** Runs `$test` with the address of a nats-server of its own, or skips saying why. */
    private function withNats(callable $test, bool $jetstream = false): void
    {
        $bin = getenv('HMS_FFI_NATS_SERVER') ?: Conformance::root() . '/target/tools/nats/bin/nats-server';
        if (!is_executable($bin)) {
            $this->markTestSkipped("nats-server is not installed ($bin): run scripts/install-nats.sh");
        }
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr((string) strrchr(stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);
        $args = [$bin, '-a', '127.0.0.1', '-p', (string) $port];
        $store = null;
        if ($jetstream) {
            $store = sys_get_temp_dir() . '/hms-js-' . bin2hex(random_bytes(6));
            mkdir($store);
            array_push($args, '-js', '-sd', $store);
        }
        $null = ['file', '/dev/null', 'w'];
        $proc = proc_open($args, [1 => $null, 2 => $null], $pipes);
        $this->assertIsResource($proc);
        try {
            $deadline = microtime(true) + 10;
            while (!($c = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 1))) {
                $this->assertLessThan($deadline, microtime(true), 'nats-server did not start');
                usleep(20000);
            }
            fclose($c);
            $test("127.0.0.1:$port");
        } finally {
            proc_terminate($proc);
            $deadline = microtime(true) + 10;
            while (proc_get_status($proc)['running'] && microtime(true) < $deadline) {
                usleep(20000);
            }
            proc_terminate($proc, 9);
            proc_close($proc);
            if ($store !== null) {
                self::remove($store);
            }
        }
    }

    private static function remove(string $path): void
    {
        if (is_dir($path) && !is_link($path)) {
            foreach (array_diff((array) scandir($path), ['.', '..']) as $entry) {
                self::remove("$path/$entry");
            }
            rmdir($path);
        } elseif (file_exists($path) || is_link($path)) {
            unlink($path);
        }
    }
}
