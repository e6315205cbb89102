<?php
// PHP values through a round trip (PHP client → PHP conformance server → back): arrays as
// messages, lists and maps, 64-bit ints and GMP, floats, bytes, timestamps, enums.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Bytes;
use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\InternalException;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Schema;
use HmsFfi\Server;
use HmsFfi\Timestamp;
use PHPUnit\Framework\TestCase;

enum Color
{
    case COLOR_BLUE;
}

final class TypesTest extends TestCase
{
    private const ECHO = Conformance::SERVICE . '/Echo';
    private const SCALARS = Conformance::SERVICE . '/EchoScalars';

    private static ?Child $server = null;
    private static Client $client;

    public static function setUpBeforeClass(): void
    {
        $uri = Child::socket('types');
        self::$server = Child::php(Conformance::root() . '/tests/matrix/php/conformance.php', 'serve', $uri);
        self::$client = Client::connect($uri);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    public function testScalarsKeepTheirPhpTypes(): void
    {
        $r = self::$client->call(self::SCALARS, [
            'int64_v' => PHP_INT_MAX, 'sint64_v' => PHP_INT_MIN, 'double_v' => 1.5, 'float_v' => 0.1,
            'bool_v' => true, 'string_v' => 'héllo', 'bytes_v' => "\xff\x00", 'uint64_v' => gmp_init('18446744073709551615'),
        ]);
        self::assertSame(PHP_INT_MAX, $r['int64_v']);
        self::assertSame(PHP_INT_MIN, $r['sint64_v']);
        self::assertSame(1.5, $r['double_v']);
        self::assertSame(0.10000000149011612, $r['float_v']);
        self::assertTrue($r['bool_v']);
        self::assertSame('héllo', $r['string_v']);
        self::assertSame("\xff\x00", $r['bytes_v']);
        self::assertInstanceOf(\GMP::class, $r['uint64_v']);
        self::assertSame('18446744073709551615', gmp_strval($r['uint64_v']));
        self::assertSame(0, $r['int32_v'], 'unset fields come back with their default');
    }

    public function testArraysBecomeMessagesListsAndMaps(): void
    {
        $r = self::$client->call(self::ECHO, [
            'items' => [['name' => 'a', 'qty' => 2]],
            'numbers' => [1, 2, 3],
            'counts' => ['a' => 1, '7' => 2],
            'by_id' => [['name' => 'zero'], ['name' => 'one']],
            'nested' => [],
            'meta' => ['k' => [1, 'x', null]],
            'colors' => ['COLOR_RED', Color::COLOR_BLUE, 2],
        ]);
        self::assertSame('a', $r['items'][0]['name']);
        self::assertSame(2, $r['items'][0]['qty']);
        self::assertSame([1, 2, 3], $r['numbers']);
        self::assertSame(['7' => 2, 'a' => 1], $r['counts']);
        self::assertSame([0, 1], array_keys($r['by_id']));
        self::assertSame('one', $r['by_id'][1]['name']);
        self::assertSame(['name' => '', 'price' => 0.0, 'qty' => 0], $r['nested']);
        self::assertSame(['k' => [1.0, 'x', null]], $r['meta']);
        self::assertSame(['COLOR_RED', 'COLOR_BLUE', 'COLOR_GREEN'], $r['colors']);
        self::assertNull($r['at']);
        self::assertSame([], $r['tags']);
        $meta = self::$client->call(self::ECHO, ['meta' => (object) ['o' => new \stdClass(), 'l' => []]])['meta'];
        self::assertSame([], $meta['l'], '[] is an empty list');
        self::assertInstanceOf(\stdClass::class, $meta['o'], 'an empty JSON object comes back as an empty stdClass');
        self::assertSame([], get_object_vars($meta['o']));
        self::assertSame('{"l":[],"o":{}}', json_encode($meta), 'so json_encode writes the same JSON again');
        $r = self::$client->call(self::ECHO, ['meta' => new \stdClass(), 'counts' => []]);
        self::assertInstanceOf(\stdClass::class, $r['meta'], 'an empty Struct field is {} too');
        self::assertSame([], $r['counts'], 'an empty map field stays an empty array');
        self::assertNull($r['nested'], 'an unset message field is null');
    }

    public function testTimestampsAreDateTimeImmutableWithNanoseconds(): void
    {
        $at = Timestamp::fromUnix(1709210096, 789123456);
        $r = self::$client->call(self::ECHO, ['at' => $at, 'took' => '1.5s']);
        self::assertInstanceOf(\DateTimeImmutable::class, $r['at']);
        self::assertSame([1709210096, 789123456], Timestamp::unixParts($r['at']));
        self::assertSame('2024-02-29T12:34:56.789123+00:00', $r['at']->format('Y-m-d\TH:i:s.uP'));
        self::assertSame('1.500s', $r['took']);
        $paris = new \DateTimeImmutable('2024-01-01 01:00:00', new \DateTimeZone('Europe/Paris'));
        $r = self::$client->call(self::ECHO, ['at' => $paris]);
        self::assertSame('2024-01-01T00:00:00+00:00', $r['at']->format(DATE_ATOM));
    }

    public function testBytesCanBeForcedWhereAnyValueGoes(): void
    {
        $e = null;
        try {
            self::$client->call(self::ECHO, ['meta' => ['b' => new Bytes('x')]]);
        } catch (InvalidArgumentException $e) {
        }
        self::assertNotNull($e);
        self::assertSame('meta["b"]', $e->getFieldViolations()[0]['field']);
        $r = self::$client->call(self::ECHO, ['blob' => new Bytes('raw')]);
        self::assertSame('raw', $r['blob']);
    }

    public function testWrongTypesNameTheirPath(): void
    {
        try {
            self::$client->call(self::ECHO, ['items' => [['qty' => 'many']], 'numbers' => [1, new \ArrayObject()]]);
            self::fail('expected InvalidArgumentException');
        } catch (InvalidArgumentException $e) {
            $v = $e->getFieldViolations();
            usort($v, fn($a, $b) => strcmp($a['field'], $b['field']));
            self::assertSame('items[0].qty', $v[0]['field']);
            self::assertSame('numbers[1]', $v[1]['field']);
            self::assertStringContainsString('ArrayObject', $v[1]['description']);
        }
    }

    public function testSchemasLoadFromFilesAndSourceAndDescribeTheirMethods(): void
    {
        $schema = Schema::fromSource('ping.proto', 'syntax = "proto3"; package p.v1; message M { string s = 1; } service S { rpc Ping(M) returns (M); }');
        self::assertSame(['p.v1.S'], $schema->services());
        self::assertSame([['name' => 'p.v1.S/Ping', 'input' => 'p.v1.M', 'output' => 'p.v1.M', 'kind' => 'unary']], $schema->methods());
        self::assertContains(self::ECHO, array_column(self::$client->methods(), 'name'));
        $copy = Schema::fromDescriptorSet($schema->toDescriptorSet());
        self::assertSame(['p.v1.S'], $copy->services());
        try {
            Schema::fromSource('bad.proto', 'syntax = "proto3"; message {');
            self::fail('expected an error');
        } catch (InvalidArgumentException $e) {
            self::assertStringContainsString('bad.proto', $e->getMessage());
        }
    }

    public function testKeysThatAreNotUtf8AreRefusedWithTheirPath(): void
    {
        $requests = [
            '[<bytes>]' => ["\xff" => 1],
            'items[0][<bytes>]' => ['items' => [["\xff" => 1]]],
            'counts[<bytes>]' => ['counts' => ['a' => 1, "\xff" => 2]],
            'meta' => ['meta' => ["\xff" => 1]],
        ];
        foreach ($requests as $path => $request) {
            try {
                self::$client->call(self::ECHO, $request);
                self::fail("expected InvalidArgumentException at $path");
            } catch (InvalidArgumentException $e) {
                self::assertSame($path, $e->getFieldViolations()[0]['field']);
            }
        }
        try {
            iterator_to_array(self::$client->stream(Conformance::SERVICE . '/ServerStream', ["\xff" => 1]));
            self::fail('expected InvalidArgumentException for a streamed request');
        } catch (InvalidArgumentException $e) {
            self::assertSame('[<bytes>]', $e->getFieldViolations()[0]['field']);
        }
        foreach ([["\xff" => 1], ['metadata' => ["\xff" => 'v']]] as $options) {
            try {
                self::$client->call(self::ECHO, [], $options);
                self::fail('expected InvalidArgumentException for an option key');
            } catch (InvalidArgumentException $e) {
                self::assertStringContainsString('key "\xff" is not UTF-8', $e->getMessage());
            }
        }
        self::assertSame(['a' => 1], self::$client->call(self::ECHO, ['counts' => ['a' => 1]])['counts']);
    }

    public function testAHandlerReplyWithAKeyThatIsNotUtf8IsInternalAndServingGoesOn(): void
    {
        $server = new Server(Schema::load(Conformance::root() . '/tests/conformance/conformance.proto'));
        $server->method(self::ECHO, fn (array $req, Context $ctx): array => $req['tags'] === ['bad'] ? ['counts' => ["\xff" => 1]] : $req);
        $server->method(
            Conformance::SERVICE . '/ServerStream',
            fn (array $req, Context $ctx): array => $req['tags'] === ['bad'] ? ["\xff" => []] : [$req],
        );
        $client = Client::connect($server->listen('inproc://php-types-keys-' . getmypid()));
        try {
            $client->call(self::ECHO, ['tags' => ['bad']]);
            self::fail('expected InternalException');
        } catch (InternalException $e) {
            self::assertSame('counts[<bytes>]', $e->getFieldViolations()[0]['field']);
        }
        try {
            iterator_to_array($client->stream(Conformance::SERVICE . '/ServerStream', ['tags' => ['bad']]));
            self::fail('expected InternalException');
        } catch (InternalException $e) {
            self::assertStringContainsString('not one reply', $e->getMessage());
        }
        $replies = iterator_to_array($client->stream(Conformance::SERVICE . '/ServerStream', ['tags' => ['ok']]));
        self::assertSame(['ok'], $replies[0]['tags']);
        self::assertSame(['ok'], $client->call(self::ECHO, ['tags' => ['ok']])['tags']);
        $server->shutdown(0.0);
    }
}
