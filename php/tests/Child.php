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
        $read = [$this->pipes[1]];
        $none = null;
        $line = stream_select($read, $none, $none, 60) > 0
            ? trim((string) fgets($this->pipes[1]))
            : 'nothing within 60 s';
        if (!str_starts_with($line, $ready)) {
            $this->kill();
            $err = stream_get_contents($this->pipes[2]);
            throw new \RuntimeException('child did not start: ' . $line . "\n" . $err);
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

    /** Waits for the child to end by itself and returns its exit code; past the timeout the
     * child is killed and a RuntimeException carries what it wrote. */
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
        $this->kill();
        throw new \RuntimeException(sprintf(
            "the child did not end within %.1f s (killed)\nstdout:\n%s\nstderr:\n%s",
            $timeout,
            stream_get_contents($this->pipes[1]),
            stream_get_contents($this->pipes[2]),
        ));
    }

    /** SIGKILL, and waits until it is gone (so that its pipes reach end of file). */
    private function kill(): void
    {
        if ($this->exit !== null) {
            return;
        }
        $status = proc_get_status($this->proc);
        if ($status['running']) {
            proc_terminate($this->proc, 9);
            for ($i = 0; $i < 500 && ($status = proc_get_status($this->proc))['running']; $i++) {
                usleep(10000);
            }
        }
        $this->exit = $status['running'] ? -1 : $status['exitcode'];
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
        $this->kill();
        proc_close($this->proc);
    }
}
