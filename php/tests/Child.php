<?php
// Programs started by the tests: a PHP server in a child process (PHP has one thread, so a server
// and a client in the same test must live in two processes), or the Rust conformance program.

declare(strict_types=1);

namespace HmsFfi\Tests;

final class Child
{
    /** @var resource */
    private $proc;
    /** @var array<int, resource> */
    private array $pipes;
    private ?int $exit = null;

    /** @param list<string> $command */
    private function __construct(array $command, string $ready = 'ready')
    {
        $proc = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $this->proc = $proc;
        $this->pipes = $pipes;
        $line = trim((string) fgets($this->pipes[1]));
        if (!str_starts_with($line, $ready)) {
            $err = stream_get_contents($this->pipes[2]);
            throw new \RuntimeException('child did not start: ' . $line . $err);
        }
    }

    /** The extension this test process runs with, for the children. */
    public static function extension(): string
    {
        return getenv('HMS_FFI_EXT') ?: Conformance::root() . '/target/php/hms_ffi.so';
    }

    /** `php <script> <args…>` with the extension loaded, once it printed `ready`. */
    public static function php(string $script, string ...$args): self
    {
        return new self(array_merge([PHP_BINARY, '-d', 'extension=' . self::extension(), $script], $args));
    }

    /** `php <script> <args…>` once its first line starts with `$ready`. */
    public static function phpUntil(string $ready, string $script, string ...$args): self
    {
        return new self(array_merge([PHP_BINARY, '-d', 'extension=' . self::extension(), $script], $args), $ready);
    }

    /** The Rust conformance program (target/debug/examples/conformance). */
    public static function rustBinary(): string
    {
        return Conformance::root() . '/target/debug/examples/conformance';
    }

    public static function rust(string ...$args): self
    {
        return new self(array_merge([self::rustBinary()], $args));
    }

    /** A fresh unix socket URI in a temporary folder. */
    public static function socket(string $name): string
    {
        $dir = sys_get_temp_dir() . '/hms-php-' . getmypid();
        @mkdir($dir);
        @unlink("$dir/$name.sock");
        return "unix://$dir/$name.sock";
    }

    /** Waits for the child to end by itself; returns its exit code (-1 after the timeout). */
    public function wait(float $timeout = 10.0): int
    {
        $until = microtime(true) + $timeout;
        while (microtime(true) < $until) {
            if ($this->exit !== null) {
                return $this->exit;
            }
            $status = proc_get_status($this->proc);
            if (!$status['running']) {
                return $this->exit = $status['exitcode'];
            }
            usleep(10000);
        }
        return -1;
    }

    /** SIGTERM, then the exit code. */
    public function stop(): int
    {
        if ($this->exit === null && proc_get_status($this->proc)['running']) {
            proc_terminate($this->proc, 15);
        }
        return $this->wait();
    }

    public function __destruct()
    {
        if ($this->exit === null && proc_get_status($this->proc)['running']) {
            proc_terminate($this->proc, 9);
        }
        proc_close($this->proc);
    }
}
