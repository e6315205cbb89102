<?php
// Publish/subscribe from PHP (`HmsFfi\Bus`, docs/messaging.md): typed topics, wildcards, queue
// groups, drop counting and close, in one process and over a nats-server of the test's own
// (skipped, saying so, only when nats-server is not installed: scripts/install-nats.sh), with an
// event a Python process publishes. The rules are the core's.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Bus;
use HmsFfi\InvalidArgumentException;
use HmsFfi\NotFoundException;
use HmsFfi\Schema;
use HmsFfi\Subscription;
use PHPUnit\Framework\TestCase;

final class BusTest extends TestCase
{
    use NatsServer;

    private const PROTO = <<<'PROTO'
        syntax = "proto3"; package shop.v1;
        message OrderPlaced { string id = 1; int64 cents = 2; }
        message Refund { string id = 1; bool full = 2; }
        PROTO;

    private static function schema(): Schema
    {
        return Schema::fromSource('shop.proto', self::PROTO);
    }

    private static function declared(Bus $bus): Bus
    {
        $bus->declare('orders.>', 'shop.v1.OrderPlaced');
        $bus->declare('refunds.*', 'shop.v1.Refund');
        return $bus;
    }

    /** @return list<array{0: string, 1: array<string, mixed>}> events until none comes within `$wait` s */
    private static function collect(Subscription $sub, float $wait = 0.2): array
    {
        $out = [];
        while (($event = $sub->next($wait)) !== null) {
            $out[] = $event;
        }
        return $out;
    }

    public function testWildcardsAndQueueGroupsInProcess(): void
    {
        $bus = self::declared(new Bus(self::schema()));
        $one = $bus->subscribe('orders.*');
        $q1 = $bus->subscribe('orders.>', ['queue' => 'w']);
        $q2 = $bus->subscribe('orders.>', ['queue' => 'w']);
        for ($i = 0; $i < 10; $i++) {
            $bus->publish($i % 2 ? 'orders.eu' : 'orders.eu.paris', ['id' => (string) $i, 'cents' => $i]);
        }
        $this->assertSame(['1', '3', '5', '7', '9'], array_map(fn (array $e) => $e[1]['id'], self::collect($one)));
        [$n1, $n2] = [count(self::collect($q1)), count(self::collect($q2))];
        $this->assertSame([10, true, true], [$n1 + $n2, $n1 > 0, $n2 > 0]);
        foreach ([$one, $q1, $q2] as $sub) {
            $sub->close();
        }
    }

    public function testBadTopicUndeclaredTopicAndWrongFieldAreTypedErrors(): void
    {
        $bus = self::declared(new Bus(self::schema()));
        try {
            $bus->publish('orders.*', ['id' => 'x']);
            $this->fail('a wildcard topic was published');
        } catch (InvalidArgumentException $e) {
            $this->assertSame('BAD_TOPIC', $e->getDetails()['error_info']['reason']);
        }
        try {
            $bus->publish('invoices.eu', ['id' => 'x']);
            $this->fail('an undeclared topic was published');
        } catch (NotFoundException $e) {
            $this->assertSame('UNDECLARED_TOPIC', $e->getDetails()['error_info']['reason']);
        }
        try {
            $bus->publish('orders.eu', ['cents' => 'ten']);
            $this->fail('a wrong field was published');
        } catch (InvalidArgumentException $e) {
            $this->assertSame('cents', $e->getFieldViolations()[0]['field']);
        }
        $this->expectException(NotFoundException::class);
        $bus->declare('x.*', 'shop.v1.Nope');
    }

    public function testBadOptionsAndPatternsAreInvalidArgument(): void
    {
        $bus = new Bus(self::schema());
        $this->expectException(InvalidArgumentException::class);
        $bus->subscribe('orders..eu');
    }

    public function testUnknownSubscribeOptionIsRefused(): void
    {
        $this->expectException(InvalidArgumentException::class);
        (new Bus(self::schema()))->subscribe('orders.*', ['queues' => 'w']);
    }

    public function testASlowSubscriberDropsAndCountsAndCloseEndsIt(): void
    {
        $bus = self::declared(new Bus(self::schema()));
        $slow = $bus->subscribe('orders.>', ['pending' => 2]);
        for ($i = 0; $i < 5; $i++) {
            $bus->publish('orders.eu', ['id' => (string) $i]);
        }
        $this->assertSame(3, $slow->dropped());
        $this->assertCount(2, self::collect($slow));
        $bus->publish('orders.eu', ['id' => 'late']);
        $slow->close();
        $this->assertTrue($slow->isClosed());
        $this->assertNull($slow->next(), 'a closed subscription ends at once');
        $this->assertSame(3, $slow->dropped());
    }

    public function testConvertersApplyToEvents(): void
    {
        $bus = new Bus(Schema::fromSource('p.proto', <<<'PROTO'
            syntax = "proto3"; package p.v1;
            import "google/type/decimal.proto";
            message Priced { string id = 1; google.type.Decimal price = 2; }
            PROTO));
        $bus->declare('prices.*', 'p.v1.Priced');
        $sub = $bus->subscribe('prices.*');
        $bus->publish('prices.eu', ['id' => 'p', 'price' => '1.50']);
        $this->assertSame(['prices.eu', ['id' => 'p', 'price' => '1.50']], $sub->next(5.0));
        $sub->close();
        $plain = new Bus(Schema::fromSource('p.proto', <<<'PROTO'
            syntax = "proto3"; package p.v1;
            import "google/type/decimal.proto";
            message Priced { string id = 1; google.type.Decimal price = 2; }
            PROTO), ['converters' => []]);
        $plain->declare('prices.*', 'p.v1.Priced');
        $this->expectException(InvalidArgumentException::class);
        $plain->publish('prices.eu', ['id' => 'p', 'price' => '1.50']);
    }

    public function testOverNatsEventsAreCheckedByTheSubscribersDeclaration(): void
    {
        $this->withNats(function (string $address): void {
            $publisher = self::declared(Bus::connect("nats://$address/shop", self::schema()));
            $consumer = Bus::connect("nats://$address/shop", self::schema());
            $consumer->declare('orders.>', 'shop.v1.OrderPlaced');
            $consumer->declare('refunds.*', 'shop.v1.OrderPlaced');
            $all = $consumer->subscribe('>');
            $q1 = $consumer->subscribe('orders.*', ['queue' => 'w']);
            $q2 = $consumer->subscribe('orders.*', ['queue' => 'w']);
            $publisher->publish('orders.eu', ['id' => 'o1', 'cents' => 5]);
            $publisher->publish('refunds.eu', ['id' => 'r1', 'full' => true]);
            $this->assertSame(['orders.eu', ['id' => 'o1', 'cents' => 5]], $all->next(5.0));
            try {
                $all->next(5.0);
                $this->fail('an event of another type was accepted');
            } catch (InvalidArgumentException $e) {
                $this->assertSame('WRONG_MESSAGE_TYPE', $e->getDetails()['error_info']['reason']);
            }
            $this->assertSame(1, count(self::collect($q1, 0.5)) + count(self::collect($q2, 0.5)));
            foreach ([$all, $q1, $q2] as $sub) {
                $sub->close();
            }
            $this->expectException(InvalidArgumentException::class);
            Bus::connect("grpc://$address", self::schema());
        });
    }

    public function testOverNatsAPhpSubscriberReceivesWhatPythonPublished(): void
    {
        $this->withNats(function (string $address): void {
            $python = Conformance::root() . '/target/py-venv/bin/python';
            if (!is_executable($python)) {
                $this->markTestSkipped("the Python package is not installed ($python): run make py-install");
            }
            $uri = "nats://$address/shop";
            $sub = self::declared(Bus::connect($uri, self::schema()))->subscribe('orders.*');
            $script = implode("\n", [
                'import sys, hms_ffi',
                'bus = hms_ffi.Bus.connect(sys.argv[1], hms_ffi.Schema.from_source("shop.proto", sys.argv[2]))',
                'bus.declare("orders.>", "shop.v1.OrderPlaced")',
                'bus.publish("orders.py", {"id": "from-python", "cents": 7})',
            ]);
            $proc = proc_open([$python, '-c', $script, $uri, self::PROTO], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
            $this->assertIsResource($proc);
            $deadline = microtime(true) + 20;
            while (($status = proc_get_status($proc))['running'] && microtime(true) < $deadline) {
                usleep(20000);
            }
            if ($status['running']) {
                proc_terminate($proc, 9);
            }
            $err = stream_get_contents($pipes[2]);
            proc_close($proc);
            $this->assertFalse($status['running'], 'python did not finish within 20 s');
            $this->assertSame(0, $status['exitcode'], $err);
            $this->assertSame(['orders.py', ['id' => 'from-python', 'cents' => 7]], $sub->next(5.0));
            $sub->close();
        });
    }
}
