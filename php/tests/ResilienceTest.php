<?php
// Client resilience and the admin listener from PHP (issues 23 and 20): the core reconnects,
// retries by a gRPC service config (idempotent methods only) and balances endpoints; PHP only
// passes the options (`Client::connect($uri, null, ['resilience' => …])`). `Server::admin()`
// serves /metrics, /healthz, the monitoring page and its /api/stats. The servers run in this
// process: a client call that waits runs this thread's queued handlers meanwhile.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\DeadlineExceededException;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Schema;
use HmsFfi\Server;
use HmsFfi\UnavailableException;
use PHPUnit\Framework\TestCase;

final class ResilienceTest extends TestCase
{
    private const PROTO = <<<'PROTO'
        syntax = "proto3";
        package %s;
        message Req { string id = 1; int32 fail_first = 2; }
        message Rep { string id = 1; int32 previous = 2; string server = 3; }
        service Counter {
          rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
          rpc Add(Req) returns (Rep);
        }
        PROTO;
    private const RETRY = ['serviceConfig' => ['methodConfig' => [[
        'name' => [['service' => 'phpres.v1.Counter']],
        'retryPolicy' => [
            'maxAttempts' => 3, 'initialBackoff' => '0.01s', 'maxBackoff' => '0.05s',
            'backoffMultiplier' => 2, 'retryableStatusCodes' => ['UNAVAILABLE'],
        ],
    ]]]];

    /** @var array<string, int> */
    private array $runs = [];

    /** The Counter of `$pkg` as `$name` on `$uri`; it fails the first `fail_first` runs of an id. */
    private function counter(string $name, string $uri, string $pkg = 'phpres.v1', array $options = []): Server
    {
        $server = new Server(Schema::fromSource('res.proto', sprintf(self::PROTO, $pkg)), $options);
        $counted = function (array $req, Context $ctx) use ($name): array {
            $id = $req['id'];
            $this->runs[$id] = ($this->runs[$id] ?? 0) + 1;
            if ($this->runs[$id] <= ($req['fail_first'] ?? 0)) {
                throw new UnavailableException("run {$this->runs[$id]} fails");
            }
            $previous = (int) ($ctx->metadata()['grpc-previous-rpc-attempts'] ?? '0');
            return ['id' => $id, 'previous' => $previous, 'server' => $name];
        };
        $server->method("$pkg.Counter/Get", $counted);
        $server->method("$pkg.Counter/Add", $counted);
        $server->listen($uri);
        return $server;
    }

    public function testAServiceConfigRetriesIdempotentMethodsOnly(): void
    {
        $uri = Child::socket('res-p');
        $server = $this->counter('one', $uri);
        $client = Client::connect($uri, null, ['resilience' => self::RETRY]);
        $reply = $client->call('phpres.v1.Counter/Get', ['id' => 'g', 'fail_first' => 2], ['timeout' => 5]);
        self::assertSame([3, 2], [$this->runs['g'], $reply['previous']]);
        try {
            $client->call('phpres.v1.Counter/Add', ['id' => 'a', 'fail_first' => 1], ['timeout' => 5]);
            self::fail('Add is not idempotent: not retried');
        } catch (UnavailableException) {
        }
        self::assertSame(1, $this->runs['a']);
        // The same options as JSON text.
        $again = Client::connect($uri, null, ['resilience' => json_encode(self::RETRY)]);
        self::assertSame(1, $again->call('phpres.v1.Counter/Get', ['id' => 'h', 'fail_first' => 1])['previous']);
        foreach ([['serviceConfig' => ['methodConfg' => []]], '{"backoff": ', 7] as $bad) {
            try {
                Client::connect($uri, null, ['resilience' => $bad]);
                self::fail('bad options: ' . json_encode($bad));
            } catch (InvalidArgumentException) {
            }
        }
        $this->expectException(InvalidArgumentException::class);
        Client::connect($uri, null, ['resilence' => []]);
    }

    public function testAServedServiceConfigRetriesForAClientGivenNone(): void
    {
        $uri = Child::socket('res-s');
        $server = $this->counter('one', $uri, 'phpres.v1', ['service_config' => self::RETRY['serviceConfig']]);
        $reply = Client::connect($uri)->call('phpres.v1.Counter/Get', ['id' => 's', 'fail_first' => 1], ['timeout' => 5]);
        self::assertSame([2, 1], [$this->runs['s'], $reply['previous']]);
        // A config given at connect wins: this one has no retry policy.
        $own = '{"serviceConfig": {"methodConfig": [{"name": [{}], "timeout": "5s"}]}}';
        $plain = Client::connect($uri, null, ['resilience' => $own]);
        try {
            $plain->call('phpres.v1.Counter/Get', ['id' => 'o', 'fail_first' => 1], ['timeout' => 5]);
            self::fail('the given config has no retry policy');
        } catch (UnavailableException) {
        }
        self::assertSame(1, $this->runs['o']);
        $server->shutdown(0.0);
        $schema = Schema::fromSource('res.proto', sprintf(self::PROTO, 'phpres.v1'));
        $bad = '{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}';
        foreach ([$bad, ['methodConfg' => []], 7] as $config) {
            try {
                new Server($schema, ['service_config' => $config]);
                self::fail('bad service config: ' . json_encode($config));
            } catch (InvalidArgumentException) {
            }
        }
    }

    public function testAClientReconnectsAndShowsItsState(): void
    {
        $uri = Child::socket('res-r');
        $first = $this->counter('one', $uri);
        $fast = ['backoff' => ['initial' => '0.02s', 'max' => '0.1s', 'minConnectTimeout' => '1s']];
        $client = Client::connect($uri, null, ['resilience' => $fast]);
        self::assertSame('ready', $client->state());
        $first->shutdown(0.0);
        try {
            $client->call('phpres.v1.Counter/Add', ['id' => 'b'], ['timeout' => 5]);
            self::fail('the server is gone');
        } catch (UnavailableException) {
        }
        // The connection's reader sees the end a moment after the call's own lane does.
        $deadline = microtime(true) + 5;
        while ($client->state() === 'ready' && microtime(true) < $deadline) {
            usleep(10_000);
        }
        self::assertContains($client->state(), ['idle', 'transient_failure']);
        $second = $this->counter('two', $uri);
        // While the client backs off, a call fails at once with the last attempt's error (as in
        // gRPC; `waitForReady` would wait, but this thread must stay free to run the server's
        // handlers); within the backoff's 0.1 s the client is connected again.
        $deadline = microtime(true) + 5;
        while (true) {
            try {
                $reply = $client->call('phpres.v1.Counter/Add', ['id' => 'c'], ['timeout' => 5]);
                break;
            } catch (UnavailableException $e) {
                self::assertLessThan($deadline, microtime(true), $e->getMessage());
                usleep(20_000);
            }
        }
        self::assertSame('two', $reply['server']);
        self::assertSame([['uri' => $uri, 'state' => 'ready', 'ejected' => false, 'connected' => $uri]], $client->endpoints());
        $client->close();
        self::assertSame('shutdown', $client->state());
        $second->shutdown(0.0);
    }

    /**
     * Per call (issue 23): without `wait_for_ready` a call fails at once while there is no
     * server; with it, it waits for a server that comes later (a child process: this thread
     * is busy waiting), or until its deadline.
     */
    public function testACallWaitsForReadyWhenItAsksTo(): void
    {
        $uri = Child::socket('res-w');
        $first = $this->counter('one', $uri);
        $fast = ['backoff' => ['initial' => '0.02s', 'max' => '0.1s', 'minConnectTimeout' => '1s']];
        $client = Client::connect($uri, null, ['resilience' => $fast]);
        $first->shutdown(0.0);
        try {
            $client->call('phpres.v1.Counter/Add', ['id' => 'f'], ['timeout' => 10]);
            self::fail('the server is gone');
        } catch (UnavailableException) {
        }
        try {
            $client->call('phpres.v1.Counter/Add', ['id' => 'f'], ['wait_for_ready' => 'yes']);
            self::fail('wait_for_ready is a bool');
        } catch (InvalidArgumentException) {
        }
        $late = Child::php(__DIR__ . '/fixtures/late_server.php', $uri, '0.3');
        $reply = $client->call('phpres.v1.Counter/Add', ['id' => 'w'], ['timeout' => 10, 'wait_for_ready' => true]);
        self::assertSame('late', $reply['server']);
        $late->stop();
        // Once the client saw its connection go (a call written to it just before could not know).
        for ($i = 0; $i < 500 && $client->state() === 'ready'; $i++) {
            usleep(10_000);
        }
        $this->expectException(DeadlineExceededException::class);
        $client->call('phpres.v1.Counter/Add', ['id' => 'd'], ['timeout' => 0.3, 'wait_for_ready' => true]);
    }

    public function testSeveralEndpointsAreBalancedRoundRobin(): void
    {
        $uris = [Child::socket('res-a'), Child::socket('res-b')];
        $servers = [$this->counter('one', $uris[0]), $this->counter('two', $uris[1])];
        $client = Client::connect($uris, null, ['resilience' => ['loadBalancing' => 'round_robin']]);
        $seen = [];
        for ($i = 0; $i < 6; $i++) {
            $seen[] = $client->call('phpres.v1.Counter/Get', ['id' => "rr$i"], ['timeout' => 5])['server'];
        }
        $seen = array_values(array_unique($seen));
        sort($seen);
        self::assertSame(['one', 'two'], $seen);
        self::assertSame($uris, array_column($client->endpoints(), 'uri'));
        foreach ($servers as $s) {
            $s->shutdown(0.0);
        }
        $this->expectException(InvalidArgumentException::class);
        Client::connect([]);
    }

    /** A handler's call inherits its call's deadline and trace, unless detached. */
    public function testAHandlersCallInheritsItsDeadlineAndTrace(): void
    {
        $schema = Schema::fromSource('peek.proto', <<<'PROTO'
            syntax = "proto3";
            package phppeek.v1;
            message Req { bool detach = 1; }
            message Rep { double left = 1; bool has_deadline = 2; string trace_id = 3; }
            service Peek { rpc Peek(Req) returns (Rep); rpc Relay(Req) returns (Rep); }
            PROTO);
        $inner = new Server($schema);
        $inner->method('phppeek.v1.Peek/Peek', fn(array $req, Context $ctx): array => [
            'left' => $ctx->timeRemaining() ?? -1.0,
            'has_deadline' => $ctx->deadline() !== null,
            'trace_id' => $ctx->traceId(),
        ]);
        $innerUri = $inner->listen(Child::socket('peek-inner'));
        $outer = new Server($schema);
        $outer->method('phppeek.v1.Peek/Relay', function (array $req, Context $ctx) use ($innerUri): array {
            $reply = Client::connect($innerUri)->call('phppeek.v1.Peek/Peek', [], ['detach' => $req['detach'] ?? false]);
            $reply['trace_id'] = $reply['trace_id'] === $ctx->traceId() ? 'same' : 'other';
            return $reply;
        });
        $client = Client::connect($outer->listen(Child::socket('peek-outer')));
        $got = $client->call('phppeek.v1.Peek/Relay', [], ['timeout' => 2]);
        self::assertTrue($got['has_deadline'] ?? false, json_encode($got));
        self::assertGreaterThan(0.5, $got['left']);
        self::assertLessThanOrEqual(2.0, $got['left']);
        self::assertSame('same', $got['trace_id']);
        $detached = $client->call('phppeek.v1.Peek/Relay', ['detach' => true], ['timeout' => 2]);
        self::assertFalse($detached['has_deadline'] ?? false, json_encode($detached));
        $inner->shutdown(0.0);
        $outer->shutdown(0.0);
    }

    public function testServerAdminServesMetricsHealthAndThePage(): void
    {
        $uri = Child::socket('res-m');
        $server = $this->counter('one', $uri, 'phpadmin.v1');
        $admin = $server->admin('http://127.0.0.1:0');
        self::assertMatchesRegularExpression('#^http://127\.0\.0\.1:\d+$#', $admin);
        $client = Client::connect($uri);
        $get = 'phpadmin.v1.Counter/Get';
        for ($i = 0; $i < 3; $i++) {
            $client->call($get, ['id' => "m$i"], ['timeout' => 5]);
        }
        try {
            $client->call($get, ['id' => 'bad', 'fail_first' => 1], ['timeout' => 5]);
            self::fail('expected Unavailable');
        } catch (UnavailableException) {
        }
        $context = stream_context_create(['http' => ['timeout' => 10]]);
        $fetch = fn(string $path): string => (string) file_get_contents($admin . $path, false, $context);
        self::assertStringContainsString(
            "grpc_server_call_started_total{grpc_method=\"$get\",hms_transport=\"unix\"} 4",
            $fetch('/metrics'),
        );
        self::assertSame("ok\n", $fetch('/healthz'));
        self::assertStringContainsString('<title>hms-ffi monitor</title>', $fetch('/'));
        $stats = json_decode($fetch('/api/stats'), true, 512, JSON_THROW_ON_ERROR);
        $rows = array_values(array_filter(
            $stats['methods'],
            fn(array $r): bool => $r['method'] === $get && $r['side'] === 'server',
        ));
        self::assertSame([4, 3, 1], [$rows[0]['started'], $rows[0]['finished']['OK'], $rows[0]['finished']['UNAVAILABLE']]);
        try {
            $server->admin('ftp://nowhere');
            self::fail('a bad admin URI');
        } catch (InvalidArgumentException) {
        }
        $server->shutdown(0.0);
    }
}
