<?php
// Custom domain types (docs/converters.md): the built-in converters (Decimal as a numeric
// string, Money, Date as DateTimeImmutable) and a user's own, on requests and replies, caller
// and handler side, unary and streamed, in repeated fields and map values; a converter that
// throws is InvalidArgumentException with the value's path (InternalException for a reply).

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Converter;
use HmsFfi\InternalException;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Money;
use HmsFfi\Schema;
use HmsFfi\Server;
use PHPUnit\Framework\TestCase;

final class Point
{
    public function __construct(public readonly float $lat, public readonly float $lng)
    {
    }
}

final class ConvertersTest extends TestCase
{
    private const ID = '6f1c1a52-3f0e-4d8e-9a43-1f2b6c7d8e9f';

    private static int $n = 0;

    /** @var list<array<string, mixed>> what the handlers were given */
    private array $seen = [];

    private static function point(): Converter
    {
        return new Converter(
            message: 'shop.v1.Point',
            toMessage: static function (mixed $p): array {
                if (!$p instanceof Point) {
                    throw new \TypeError('expected a Point, got ' . get_debug_type($p));
                }
                return ['lat' => $p->lat, 'lng' => $p->lng];
            },
            fromMessage: static fn (array $m): Point => new Point($m['lat'], $m['lng']),
        );
    }

    /** @return array<string, mixed> */
    private static function order(): array
    {
        return [
            'id' => self::ID,
            'items' => [['sku' => 'a', 'price' => '1.50'], ['sku' => 'b', 'price' => '-0.000000001']],
            'total' => new Money('12.345', 'EUR'),
            'due' => new \DateTimeImmutable('2026-12-24 23:30', new \DateTimeZone('Europe/Paris')),
            'rates' => ['eur' => 1, 'usd' => '1.0873E+2'],
            'refs' => [self::ID],
            'shipped' => null,
        ];
    }

    /**
     * A server of this process with the converters, its Echo handler keeping what it got; and a
     * client of it with the client's converters.
     *
     * @param array<string, mixed> $server options of the server
     * @param array<string, mixed> $client options of the client
     * @return array{0: Server, 1: Client}
     */
    private function pair(array $server = [], array $client = []): array
    {
        $s = new Server(Schema::load(Conformance::root() . '/tests/converters/shop.proto'), $server);
        $s->method('shop.v1.Shop/Echo', function (array $req, Context $ctx): array {
            $this->seen[] = $req;
            return $req;
        });
        $s->method('shop.v1.Shop/Locate', function (array $req, Context $ctx): array {
            $this->seen[] = $req;
            return $req;
        });
        $s->method('shop.v1.Shop/Bad', fn (array $req, Context $ctx): array => ['items' => [['price' => 1.5]]]);
        $s->method('shop.v1.Shop/Chat', function (\Iterator $requests, Context $ctx): \Generator {
            foreach ($requests as $r) {
                $this->seen[] = $r;
                yield $r;
            }
        });
        $uri = $s->listen('inproc://php-converters-' . getmypid() . '-' . self::$n++);
        return [$s, Client::connect($uri, null, $client)];
    }

    /** @param array<string, mixed> $o */
    private static function assertNative(array $o): void
    {
        self::assertSame(self::ID, $o['id']);
        self::assertSame(['1.50', '-0.000000001'], array_column($o['items'], 'price'));
        self::assertEquals(new Money('12.345', 'EUR'), $o['total']);
        self::assertInstanceOf(\DateTimeImmutable::class, $o['due']);
        self::assertSame('2026-12-24 00:00:00 UTC', $o['due']->format('Y-m-d H:i:s T'));
        self::assertSame(['eur' => '1', 'usd' => '1.0873E+2'], $o['rates']);
        self::assertSame([self::ID], $o['refs']);
        self::assertNull($o['shipped']);
    }

    public function testTheBuiltInsRoundTripBothWays(): void
    {
        [$server, $client] = $this->pair();
        try {
            self::assertNative($client->call('shop.v1.Shop/Echo', self::order(), ['timeout' => 10]));
            // The handler was given the native values too.
            self::assertNative($this->seen[0]);
            // The message's own array is still taken when sending.
            $reply = $client->call('shop.v1.Shop/Echo', ['items' => [['price' => ['value' => '2']]]], ['timeout' => 10]);
            self::assertSame('2', $reply['items'][0]['price']);
            // Batches and started calls convert alike; a request that does not convert is its
            // own entry's error.
            $entries = $client->batch([
                ['shop.v1.Shop/Echo', self::order()],
                ['shop.v1.Shop/Echo', ['rates' => ['x' => 1.5]]],
            ], ['timeout' => 10]);
            self::assertNative($entries[0]);
            self::assertInstanceOf(InvalidArgumentException::class, $entries[1]);
            self::assertSame('rates["x"]', $entries[1]->getFieldViolations()[0]['field']);
            self::assertNative($client->start('shop.v1.Shop/Echo', self::order(), ['timeout' => 10])->wait());
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testTheWireCarriesTheMessages(): void
    {
        // A client with the built-ins against a server without converters, and back.
        [$server, $client] = $this->pair(['converters' => []]);
        try {
            $reply = $client->call('shop.v1.Shop/Echo', self::order(), ['timeout' => 10]);
            $plain = $this->seen[0];
            self::assertSame(['value' => '1.50'], $plain['items'][0]['price']);
            self::assertSame(['currency_code' => 'EUR', 'units' => 12, 'nanos' => 345000000], $plain['total']);
            self::assertSame(['year' => 2026, 'month' => 12, 'day' => 24], $plain['due']);
            self::assertSame(['value' => '1.0873E+2'], $plain['rates']['usd']);
            self::assertNative($reply);
            // Without converters the replies are the messages, and a Money object is no message.
            $bare = Client::connect($server->endpoints()[0], null, ['converters' => []]);
            $reply = $bare->call('shop.v1.Shop/Echo', ['items' => [['price' => ['value' => '3']]]], ['timeout' => 10]);
            self::assertSame(['value' => '3'], $reply['items'][0]['price']);
            try {
                $bare->call('shop.v1.Shop/Echo', ['total' => new Money('1', 'EUR')], ['timeout' => 10]);
                self::fail('no error');
            } catch (InvalidArgumentException $e) {
                self::assertSame('total', $e->getFieldViolations()[0]['field']);
            }
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testAUserConverterInNestedRepeatedFields(): void
    {
        $with = [...Converter::builtins(), self::point()];
        [$server, $client] = $this->pair(['converters' => $with], ['converters' => $with]);
        try {
            $place = ['name' => 'x', 'at' => new Point(1.5, 2.0), 'path' => [new Point(0.0, 1.0), new Point(3.0, 4.0)]];
            $reply = $client->call('shop.v1.Shop/Locate', $place, ['timeout' => 10]);
            self::assertEquals($place, $reply);
            self::assertEquals($place, $this->seen[0]);
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testStreamsConvertBothWays(): void
    {
        [$server, $client] = $this->pair();
        try {
            $replies = iterator_to_array($client->stream('shop.v1.Shop/Chat', [self::order(), self::order()], ['timeout' => 10]));
            self::assertCount(2, $replies);
            self::assertNative($replies[1]);
            self::assertNative($this->seen[1]);
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testAConverterThatThrowsIsInvalidArgumentAtThePath(): void
    {
        [$server, $client] = $this->pair();
        try {
            $cases = [
                'items[1].price' => ['items' => [['price' => '1'], ['price' => 1.5]]],
                'rates["usd"]' => ['rates' => ['usd' => 'one']],
                'total' => ['total' => new Money('0.0000000001', 'EUR')],
                'due' => ['due' => 'tomorrow'],
            ];
            foreach ($cases as $path => $request) {
                try {
                    $client->call('shop.v1.Shop/Echo', $request, ['timeout' => 10]);
                    self::fail("$path: no error");
                } catch (InvalidArgumentException $e) {
                    $v = $e->getFieldViolations()[0];
                    self::assertSame($path, $v['field']);
                    self::assertStringStartsWith('converter for google.type.', $v['description']);
                }
            }
            self::assertSame([], $this->seen);
            // A handler's reply whose converter throws is INTERNAL, with the same violation.
            try {
                $client->call('shop.v1.Shop/Bad', [], ['timeout' => 10]);
                self::fail('no error');
            } catch (InternalException $e) {
                self::assertSame('items[0].price', $e->getFieldViolations()[0]['field']);
                self::assertStringContainsString('TypeError: expected a decimal string, got float', $e->getFieldViolations()[0]['description']);
            }
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testAReceivedValueThatDoesNotConvertIsInvalidArgument(): void
    {
        // The server (no converters) sends a partial date; the client's built-in refuses it.
        [$server, $client] = $this->pair(['converters' => []]);
        try {
            $client->call('shop.v1.Shop/Echo', ['due' => ['year' => 2026, 'month' => 0, 'day' => 0]], ['timeout' => 10]);
            self::fail('no error');
        } catch (InvalidArgumentException $e) {
            self::assertSame('due', $e->getFieldViolations()[0]['field']);
            self::assertStringContainsString('ValueError: 2026-0-0 is not a full date', $e->getFieldViolations()[0]['description']);
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testAMapKeyThatIsNotUtf8IsInvalidArgumentAtItsPath(): void
    {
        [$server, $client] = $this->pair();
        $order = self::order();
        $order['rates']["\xff"] = '1';
        try {
            $client->call('shop.v1.Shop/Echo', $order);
            self::fail('expected InvalidArgumentException');
        } catch (InvalidArgumentException $e) {
            self::assertSame('rates[<bytes>]', $e->getFieldViolations()[0]['field']);
        }
        self::assertNative($client->call('shop.v1.Shop/Echo', self::order()));
        $server->shutdown(0.0);
    }

    public function testABadConverterListIsInvalidArgument(): void
    {
        $this->expectException(InvalidArgumentException::class);
        Client::connect('inproc://php-converters-none', null, ['converters' => ['not a converter']]);
    }

    public function testAConverterTargetsOneMessageOrOneFormat(): void
    {
        $this->expectException(InvalidArgumentException::class);
        new Converter(toMessage: 'strval', fromMessage: 'strval');
    }
}
