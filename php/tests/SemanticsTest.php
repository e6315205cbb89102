<?php
// Call semantics in PHP: every case of tests/conformance/semantics/calls.json with PHP as client
// and as server (in one process over inproc, against a PHP child over unix), and the features
// they rest on — response headers and trailers both ways (with a reply and with an error),
// request metadata, started calls polled and cancelled, close.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\CancelledException;
use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\InvalidArgumentException;
use HmsFfi\NotFoundException;
use HmsFfi\PendingCall;
use HmsFfi\Server;
use PHPUnit\Framework\TestCase;

final class SemanticsTest extends TestCase
{
    private const CONTEXT = Semantics::SERVICE . '/Context';
    private const SLEEP = Conformance::SERVICE . '/Sleep';
    private const ECHO = Conformance::SERVICE . '/Echo';

    private static function assertAllPass(Client $client, string $uri): void
    {
        [$passed, $failures, $skipped] = Semantics::runAll($client, $uri);
        self::assertSame([], $failures);
        self::assertSame(count(Semantics::cases()), $passed + count($skipped));
        foreach ($skipped as $s) {
            self::assertStringNotContainsString('not written yet', $s);
        }
    }

    public function testEveryCaseInOneProcessOverInproc(): void
    {
        $server = Conformance::server();
        $uri = $server->listen('inproc://php-semantics');
        self::assertAllPass(Client::connect($uri), $uri);
        $server->shutdown(0.0);
    }

    public function testEveryCaseAgainstAPhpServerOverUnix(): void
    {
        $uri = Child::socket('php-semantics');
        $server = Child::php(Conformance::root() . '/tests/matrix/php/conformance.php', 'serve', $uri);
        self::assertAllPass(Client::connect($uri), $uri);
        self::assertSame(0, $server->stop());
    }

    public function testHeadersAndTrailersComeBackWithTheReply(): void
    {
        $server = Conformance::server();
        $uri = $server->listen('inproc://php-semantics-md');
        $got = Client::connect($uri)->callWithMetadata(
            self::CONTEXT,
            ['set_headers' => ['x-h' => '1'], 'set_trailers' => ['x-t' => '2']],
            ['metadata' => ['x-conf-a' => 'b']],
        );
        self::assertSame(['x-conf-a' => 'b'], $got['reply']['metadata']);
        self::assertSame('1', $got['headers']['x-h']);
        self::assertSame('2', $got['trailers']['x-t']);
        $server->shutdown(0.0);
    }

    public function testTheCoreRefusesAReservedKey(): void
    {
        $server = Conformance::server();
        $uri = $server->listen('inproc://php-semantics-reserved');
        try {
            Client::connect($uri)->call(self::CONTEXT, ['set_headers' => ['grpc-status' => '0']]);
            self::fail('a reserved key was accepted');
        } catch (InvalidArgumentException $e) {
            self::assertStringContainsString('grpc-status', $e->getMessage());
        }
        $server->shutdown(0.0);
    }

    public function testAnErrorExposesHeadersAndTrailers(): void
    {
        $server = Conformance::server();
        $uri = $server->listen('inproc://php-semantics-error');
        try {
            Client::connect($uri)->call(self::CONTEXT, ['set_trailers' => ['x-t' => 'why'], 'fail_code' => 'NOT_FOUND', 'fail_message' => 'gone']);
            self::fail('no exception');
        } catch (NotFoundException $e) {
            self::assertIsArray($e->getHeaders());
            $skips = Semantics::skips('client');
            if (!isset($skips['response_trailers_with_an_error'])) {
                self::assertSame('why', $e->getTrailers()['x-t'] ?? null);
            }
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testStartedCallsArePolledWaitedAndCancelled(): void
    {
        $uri = Child::socket('php-pending');
        $server = Child::php(Conformance::root() . '/tests/matrix/php/conformance.php', 'serve', $uri);
        $client = Client::connect($uri);
        $calls = [];
        for ($i = 0; $i < 3; $i++) {
            $calls[] = $client->start(self::SLEEP, ['millis' => 200]);
        }
        self::assertInstanceOf(PendingCall::class, $calls[0]);
        $started = microtime(true);
        while (array_filter($calls, fn(PendingCall $c) => !$c->isDone()) !== []) {
            self::assertLessThan(10, microtime(true) - $started, 'the calls did not end');
            usleep(5000);
        }
        foreach ($calls as $c) {
            self::assertSame([], $c->wait());
        }
        $slow = $client->start(self::SLEEP, ['millis' => 5000]);
        usleep(100000);
        self::assertFalse($slow->isDone());
        $slow->cancel();
        try {
            $slow->wait();
            self::fail('the cancelled call answered');
        } catch (CancelledException) {
            self::assertLessThan(3, microtime(true) - $started - 0.1);
        }
        $md = $client->start(self::CONTEXT, ['set_headers' => ['x-h' => 'a']])->waitWithMetadata();
        self::assertSame('a', $md['headers']['x-h']);
        self::assertSame(0, $server->stop());
    }

    public function testAClosedClientFailsWithCancelled(): void
    {
        $server = Conformance::server();
        $uri = $server->listen('inproc://php-semantics-close');
        $client = Client::connect($uri);
        self::assertSame('x', $client->call(self::ECHO, ['unicode_text' => 'x'])['unicode_text']);
        $client->close();
        $this->expectException(CancelledException::class);
        try {
            $client->call(self::ECHO, []);
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testTheHandlerSeesMetadataDeadlineTraceIdAndPeer(): void
    {
        $seen = [];
        $server = new Server(Conformance::schema());
        $server->method(self::CONTEXT, function (array $req, Context $ctx) use (&$seen): array {
            $seen = [$ctx->metadata(), $ctx->timeRemaining(), $ctx->traceId(), $ctx->peerCredentials(), $ctx->peerCertificate()];
            return [];
        });
        $uri = $server->listen(Child::socket('php-ctx'));
        Client::connect($uri)->call(self::CONTEXT, [], ['timeout' => 10, 'metadata' => ['x-trace-id' => '4bf92f3577b34da6a3ce929d0e0e4736', 'x-conf-k' => 'v']]);
        [$metadata, $left, $traceId, $cred, $cert] = $seen;
        self::assertSame('v', $metadata['x-conf-k']);
        self::assertGreaterThan(5, $left);
        self::assertSame('4bf92f3577b34da6a3ce929d0e0e4736', $traceId);
        self::assertSame(posix_getuid(), $cred['uid']);
        self::assertNull($cert);
        $server->shutdown(0.0);
    }
}
