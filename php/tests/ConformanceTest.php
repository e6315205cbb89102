<?php
// The shared conformance vectors with PHP as client and as server: over inproc, a PHP client and
// a PHP server in one process (PHP has one thread: the client's wait runs the server's handlers);
// over unix, against a PHP server in a child process, the Rust server, and the Rust client.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use PHPUnit\Framework\TestCase;

final class ConformanceTest extends TestCase
{
    private static function assertAllPass(Client $client): void
    {
        [$passed, $failures] = Conformance::runAll($client);
        self::assertSame([], $failures);
        self::assertSame(count(Conformance::cases()), $passed);
        self::assertGreaterThan(200, $passed);
    }

    public function testPhpClientAndPhpServerInOneProcessOverInproc(): void
    {
        $server = Conformance::server();
        self::assertSame('inproc://php-conformance', $server->listen('inproc://php-conformance'));
        // No serve(): this thread runs the server's handlers while its client call waits.
        self::assertAllPass(Client::connect('inproc://php-conformance'));
        $server->shutdown(0.0);
        self::assertTrue($server->isStopped());
    }

    public function testPhpClientAndPhpServerInOneProcessOverUnix(): void
    {
        $uri = Child::socket('one-process');
        $server = Conformance::server();
        $server->listen($uri);
        $reply = Client::connect($uri)->call(Conformance::SERVICE . '/Echo', ['unicode_text' => 'ünï']);
        self::assertSame('ünï', $reply['unicode_text']);
        $server->shutdown(0.0);
    }

    public function testPhpClientAgainstPhpServerOverUnix(): void
    {
        $uri = Child::socket('php-php');
        $server = Child::php(Conformance::root() . '/tests/matrix/php/conformance.php', 'serve', $uri);
        self::assertAllPass(Client::connect($uri));
        self::assertSame(0, $server->stop(), 'the server ends cleanly on SIGTERM');
    }

    public function testPhpClientAgainstRustServerOverUnix(): void
    {
        $uri = Child::socket('php-rust');
        $server = Child::rust('serve', $uri);
        self::assertAllPass(Client::connect($uri));
        $server->stop();
    }

    public function testRustClientAgainstPhpServerOverUnix(): void
    {
        $uri = Child::socket('rust-php');
        $server = Child::php(Conformance::root() . '/tests/matrix/php/conformance.php', 'serve', $uri);
        exec(escapeshellarg(Child::rustBinary()) . ' client ' . escapeshellarg($uri) . ' 2>&1', $out, $rc);
        $text = implode("\n", $out);
        // The vectors, the call-semantics cases and the streaming ones, every one passed.
        $all = count(Conformance::cases()) + count(Semantics::cases()) + count(StreamVectors::cases());
        self::assertSame("$all passed, 0 failed, 0 skipped", end($out), $text);
        self::assertSame(0, $rc, $text);
        self::assertSame(0, $server->stop());
    }
}
