<?php
// Durable events from PHP (JetStream, docs/messaging.md): a bus connected with
// `?jetstream=STREAM` stores what it publishes; `subscribeDurable` reads through a named consumer
// with explicit acknowledgements, redelivery and replay, and resumes when another bus opens the
// same name. Each test starts a nats-server of its own with JetStream in a temporary store
// (skipped, saying so, only when nats-server is not installed). The rules are the core's.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Bus;
use HmsFfi\Delivery;
use HmsFfi\FailedPreconditionException;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Schema;
use PHPUnit\Framework\TestCase;

final class BusJetStreamTest extends TestCase
{
    use NatsServer;

    private const PROTO = <<<'PROTO'
        syntax = "proto3"; package shop.v1;
        import "hms/ffi/v1/options.proto";
        message OrderPlaced { option (hms.ffi.v1.topic) = "orders.>"; string id = 1; int64 cents = 2; }
        message Refund { string id = 1; }
        PROTO;

    private static function schema(): Schema
    {
        return Schema::fromSource('shop.proto', self::PROTO);
    }

    /** Runs `$test` with `nats://…/events?jetstream=SHOP` on a nats-server of its own. */
    private function withJetStream(callable $test): void
    {
        $this->withNats(fn (string $address) => $test("nats://$address/events?jetstream=SHOP"), true);
    }

    private static function next(\HmsFfi\DurableSubscription $sub, float $timeout = 5.0): Delivery
    {
        $d = $sub->next($timeout);
        self::assertInstanceOf(Delivery::class, $d);
        return $d;
    }

    public function testAcknowledgedOnceRedeliveredOtherwise(): void
    {
        $this->withJetStream(function (string $uri): void {
            $bus = Bus::connect($uri, self::schema());
            for ($i = 1; $i <= 3; $i++) {
                $bus->publish('orders.eu', ['id' => "o$i", 'cents' => $i]);
            }
            $sub = $bus->subscribeDurable('orders.>', 'billing', ['ack_wait' => 0.4]);
            $first = self::next($sub);
            $this->assertSame(
                ['orders.eu', ['id' => 'o1', 'cents' => 1], 1, 1],
                [$first->topic(), $first->message(), $first->sequence(), $first->delivered()],
            );
            $first->ack();
            self::next($sub)->nak();
            self::next($sub)->ack();
            $again = self::next($sub);
            $this->assertSame(['o2', 2], [$again->message()['id'], $again->delivered()]);
            // Not answered: after ack_wait it comes a third time.
            $late = self::next($sub);
            $this->assertSame(['o2', 3], [$late->message()['id'], $late->delivered()]);
            $late->inProgress();
            $late->ack();
            $this->assertNull($sub->next(1.0));
            $sub->close();
            $this->assertTrue($sub->isClosed());
            $this->assertNull($sub->next());
        });
    }

    public function testANamedConsumerResumesAndReplaysFromASequenceOrTime(): void
    {
        $this->withJetStream(function (string $uri): void {
            $bus = Bus::connect($uri, self::schema());
            $bus->publish('orders.eu', ['id' => 'old']);
            usleep(50000);
            $since = new \DateTimeImmutable();
            usleep(50000);
            for ($i = 1; $i <= 3; $i++) {
                $bus->publish('orders.eu', ['id' => "n$i"]);
            }
            $sub = $bus->subscribeDurable('orders.>', 'audit', ['batch' => 1]);
            foreach (['old', 'n1'] as $want) {
                $d = self::next($sub);
                $this->assertSame($want, $d->message()['id']);
                $d->ack();
            }
            $sub->close();
            // Another process (here: another bus) resumes the consumer after the acknowledged ones.
            $other = Bus::connect($uri, self::schema());
            $resumed = $other->subscribeDurable('orders.>', 'audit', ['batch' => 1]);
            $this->assertSame('n2', self::next($resumed)->message()['id']);
            $resumed->close();
            $this->assertSame('n2', self::next($other->subscribeDurable('orders.>', null, ['deliver' => 3]))->message()['id']);
            $this->assertSame('n1', self::next($other->subscribeDurable('orders.>', null, ['deliver' => $since]))->message()['id']);
            $this->assertNull($other->subscribeDurable('orders.>', null, ['deliver' => 'new'])->next(0.3));
        });
    }

    public function testAnEventThatFailsItsCheckIsItsTypedErrorAndTheSubscriptionGoesOn(): void
    {
        $this->withJetStream(function (string $uri): void {
            $publisher = Bus::connect($uri, self::schema());
            $publisher->declare('refunds.*', 'shop.v1.Refund');
            $reader = Bus::connect($uri, self::schema());
            $reader->declare('refunds.*', 'shop.v1.OrderPlaced');
            $publisher->publish('refunds.eu', ['id' => 'r1']);
            $publisher->publish('orders.eu', ['id' => 'o1']);
            $sub = $reader->subscribeDurable('>', 'all', ['ack_wait' => 0.3]);
            try {
                $sub->next(5.0);
                $this->fail('an event of another type was accepted');
            } catch (InvalidArgumentException $e) {
                $this->assertSame('WRONG_MESSAGE_TYPE', $e->getDetails()['error_info']['reason']);
            }
            $good = self::next($sub);
            $this->assertSame('o1', $good->message()['id']);
            $good->ack();
            // Terminated by the core: not delivered again after ack_wait.
            $this->assertNull($sub->next(0.9));
            $sub->close();
        });
    }

    public function testDurableSubscriptionsReportTypedErrors(): void
    {
        $this->withJetStream(function (string $uri): void {
            $plain = Bus::connect(explode('?', $uri)[0], self::schema());
            try {
                $plain->subscribeDurable('orders.>', 'x');
                $this->fail('a bus without JetStream subscribed durably');
            } catch (FailedPreconditionException $e) {
                $this->assertStringContainsString('jetstream', $e->getMessage());
            }
            $bus = Bus::connect($uri, self::schema());
            $bad = [
                ['orders..eu', []],
                ['orders.>', ['deliver' => 'sometime']],
                ['orders.>', ['deliver' => -1]],
                ['orders.>', ['deliver' => 1.5]],
                ['orders.>', ['ack_wait' => 'long']],
                ['orders.>', ['queue' => 'w']],
            ];
            foreach ($bad as [$pattern, $options]) {
                try {
                    $bus->subscribeDurable($pattern, 'x', $options);
                    $this->fail('accepted ' . json_encode([$pattern, $options]));
                } catch (InvalidArgumentException $e) {
                    $this->addToAssertionCount(1);
                }
            }
            $this->expectException(FailedPreconditionException::class);
            (new Bus(self::schema()))->subscribeDurable('orders.>');
        });
    }
}
