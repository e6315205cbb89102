<?php
// examples/php/greeter.php runs: in one process over inproc, and as server and client processes.

declare(strict_types=1);

namespace HmsFfi\Tests;

use PHPUnit\Framework\TestCase;

final class ExamplesTest extends TestCase
{
    private static function example(): string
    {
        return Conformance::root() . '/examples/php/greeter.php';
    }

    /** @return array{0: int, 1: string} */
    private static function runExample(string ...$args): array
    {
        $cmd = array_merge([PHP_BINARY, '-d', 'extension=' . Child::extension(), self::example()], $args);
        exec(implode(' ', array_map('escapeshellarg', $cmd)) . ' 2>&1', $out, $rc);
        return [$rc, implode("\n", $out)];
    }

    public function testGreeterInOneProcess(): void
    {
        [$rc, $out] = self::runExample('both');
        self::assertSame(0, $rc, $out);
        self::assertStringContainsString("SayHello -> 'Hello Ada from PHP, Hello Ada from PHP'", $out);
        self::assertStringContainsString('a wrong type is refused', $out);
        self::assertStringContainsString('HmsFfi\InvalidArgumentException INVALID_ARGUMENT: name must not be empty (from php)', $out);
    }

    public function testGreeterServerAndClientProcesses(): void
    {
        $uri = Child::socket('greeter');
        $server = Child::phpUntil('[php server] listening', self::example(), 'serve', $uri);
        [$rc, $out] = self::runExample('call', $uri, 'Grace');
        self::assertSame(0, $rc, $out);
        self::assertStringContainsString('Hello Grace from PHP', $out);
        self::assertSame(0, $server->stop(), 'Ctrl-C/SIGTERM ends serve() and the script');
    }
}
