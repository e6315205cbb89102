<?php
// Streams from PHP: every streaming vector with a PHP client against a PHP server in a child
// process and against the Rust server, and the idioms: foreach over the replies, a Generator
// of requests, send()/closeSend()/result(), cancel(), headers sent ahead of the first reply
// (`$ctx->sendHeaders()`). (A PHP client and a PHP server in one
// process share its one thread: a stream between them holds at most a window's worth of
// replies before the client reads, so the vectors run across processes.)

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\CancelledException;
use HmsFfi\Client;
use HmsFfi\FailedPreconditionException;
use PHPUnit\Framework\TestCase;

final class StreamsTest extends TestCase
{
    private const SERVICE = Conformance::SERVICE;

    private static function assertAllPass(Client $client): void
    {
        [$passed, $failures, $skipped] = StreamVectors::runAll($client);
        self::assertSame([], $failures);
        self::assertSame(0, $skipped);
        self::assertSame(count(StreamVectors::cases()), $passed);
        self::assertGreaterThanOrEqual(16, $passed);
    }

    public function testEveryVectorAgainstAPhpServer(): void
    {
        $uri = Child::socket('php-streams');
        $server = Child::php(Conformance::root() . '/tests/matrix/php/conformance.php', 'serve', $uri);
        self::assertAllPass(Client::connect($uri));
        self::assertSame(0, $server->stop());
    }

    public function testEveryVectorAgainstTheRustServer(): void
    {
        $uri = Child::socket('php-rust-streams');
        $server = Child::rust('serve', $uri);
        self::assertAllPass(Client::connect($uri));
        $server->stop();
    }

    public function testInOneProcessAGeneratorOfRequestsAndForeachOverReplies(): void
    {
        $server = Conformance::server();
        $uri = $server->listen('inproc://php-streams-one');
        $client = Client::connect($uri);
        $requests = (function () {
            for ($i = 0; $i < 5; $i++) {
                yield ['unicode_text' => "r$i"];
            }
        })();
        $weights = [];
        foreach ($client->stream(self::SERVICE . '/Bidi', $requests, ['timeout' => 10]) as $reply) {
            $weights[] = $reply['weight_mg'];
        }
        self::assertSame([0, 1, 2, 3, 4], $weights);
        $stream = $client->stream(self::SERVICE . '/ClientStream', null, ['timeout' => 10]);
        $stream->send(['unicode_text' => 'a']);
        $stream->send(['unicode_text' => 'b']);
        $stream->closeSend();
        $reply = $stream->result();
        self::assertSame(['b', 2], [$reply['unicode_text'], $reply['weight_mg']]);
        $this->expectException(FailedPreconditionException::class);
        try {
            $stream->send([]);
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testCancelEndsTheStream(): void
    {
        $uri = Child::socket('php-streams-cancel');
        $server = Child::rust('serve', $uri);
        $stream = Client::connect($uri)->stream(
            self::SERVICE . '/ServerStream',
            ['counts' => ['repeat' => 1000, 'sleep_ms' => 10]],
            ['timeout' => 30],
        );
        $started = microtime(true);
        $got = 0;
        try {
            foreach ($stream as $reply) {
                if (++$got === 2) {
                    $stream->cancel();
                }
            }
            self::fail('the stream ended normally after a cancel');
        } catch (CancelledException) {
            self::assertSame(2, $got);
            self::assertLessThan(5.0, microtime(true) - $started);
        } finally {
            $server->stop();
        }
    }

    public function testAStreamHandlerSendsItsHeadersBeforeAnyReply(): void
    {
        $uri = Child::socket('php-streams-early');
        $server = Child::phpUntil('ready', __DIR__ . '/fixtures/headers_server.php', $uri);
        try {
            $stream = Client::connect($uri)->stream(self::SERVICE . '/Bidi', null, ['timeout' => 10]);
            // Nothing sent, nothing read: the headers come on their own.
            $until = microtime(true) + 5;
            while ($stream->headers() === null && microtime(true) < $until) {
                usleep(5000);
            }
            self::assertNotNull($stream->headers(), 'no headers before a reply');
            self::assertSame('yes', $stream->headers()['x-early']);
            self::assertArrayNotHasKey('x-late', $stream->headers());
            $stream->send(['unicode_text' => 'a']);
            $stream->closeSend();
            $replies = [];
            foreach ($stream as $reply) {
                $replies[] = $reply['unicode_text'];
            }
            self::assertSame(['a'], $replies);
            self::assertSame('FAILED_PRECONDITION', $stream->trailers()['x-late']);
        } finally {
            $server->stop();
        }
    }
}
