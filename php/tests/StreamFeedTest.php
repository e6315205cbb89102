<?php
// Requests given to $client->stream() as an iterable are sent lazily, as the replies are read
// (php/src/feed.rs): nothing is taken from a Generator before the first read; a bidi stream
// larger than both flow-control windows does not deadlock (sending them all before reading
// would: the server blocks on its replies, the client on its requests); a Generator that throws
// ends the call with its exception; result() sends every request first. Against the Rust
// conformance server in a child process, over unix.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use PHPUnit\Framework\TestCase;

final class StreamFeedTest extends TestCase
{
    private const SERVICE = Conformance::SERVICE;

    private static ?Child $server = null;
    private static string $uri = '';

    public static function setUpBeforeClass(): void
    {
        self::$uri = Child::socket('php-feed');
        self::$server = Child::rust('serve', self::$uri);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    public function testAGeneratorRunsOnlyAsTheRepliesAreRead(): void
    {
        $log = [];
        $requests = (function () use (&$log) {
            for ($i = 0; $i < 5; $i++) {
                $log[] = "request $i";
                yield ['unicode_text' => "r$i"];
            }
        })();
        $stream = Client::connect(self::$uri)->stream(self::SERVICE . '/Bidi', $requests, ['timeout' => 10]);
        self::assertSame([], $log, 'stream() took requests before anything was read');
        $texts = [];
        foreach ($stream as $reply) {
            $log[] = 'reply ' . $reply['weight_mg'];
            $texts[] = $reply['unicode_text'];
        }
        self::assertSame(['r0', 'r1', 'r2', 'r3', 'r4'], $texts);
        self::assertSame('request 0', $log[0]);
        self::assertCount(10, $log);
    }

    public function testABidiStreamBeyondBothWindowsDoesNotDeadlock(): void
    {
        // 64 requests of 100 KB echoed back: 6.4 MB each way, over six times the 1 MiB windows.
        $big = str_repeat('x', 100_000);
        $requests = (function () use ($big) {
            for ($i = 0; $i < 64; $i++) {
                yield ['unicode_text' => $big];
            }
        })();
        $started = microtime(true);
        $n = 0;
        foreach (Client::connect(self::$uri)->stream(self::SERVICE . '/Bidi', $requests, ['timeout' => 20]) as $reply) {
            self::assertSame($n, $reply['weight_mg']);
            self::assertSame(100_000, strlen($reply['unicode_text']));
            $n++;
        }
        self::assertSame(64, $n);
        self::assertLessThan(20.0, microtime(true) - $started);
    }

    public function testAGeneratorThatThrowsEndsTheCallWithItsException(): void
    {
        $requests = (function () {
            yield ['unicode_text' => 'a'];
            yield ['unicode_text' => 'b'];
            throw new \RuntimeException('no more requests');
        })();
        $got = [];
        try {
            foreach (Client::connect(self::$uri)->stream(self::SERVICE . '/Bidi', $requests, ['timeout' => 10]) as $reply) {
                $got[] = $reply['unicode_text'];
            }
            self::fail('the stream ended normally');
        } catch (\RuntimeException $e) {
            self::assertSame('no more requests', $e->getMessage());
        }
        // The replies read before the throw, at most one per request sent.
        self::assertLessThanOrEqual(2, count($got));
    }

    public function testResultSendsEveryRequestOfAGeneratorFirst(): void
    {
        $requests = (function () {
            for ($i = 0; $i < 7; $i++) {
                yield ['unicode_text' => "c$i"];
            }
        })();
        $reply = Client::connect(self::$uri)
            ->stream(self::SERVICE . '/ClientStream', $requests, ['timeout' => 10])
            ->result();
        self::assertSame(['c6', 7], [$reply['unicode_text'], $reply['weight_mg']]);
    }
}
