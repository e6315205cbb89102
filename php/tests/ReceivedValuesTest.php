<?php
// What PHP receives is made straight from the message's bytes by the core's walk (walk.rs):
// a deeply nested message with maps of messages, repeated bytes, int64 extremes, enums, map
// keys of every kind and a converter inside a map value comes back equal to what was sent —
// as a reply, as a handler's request, on a stream, in a batch and from a started call, over
// inproc and unix. Bytes that are not text where the schema wants text (a peer that sends
// them raw) are a typed exception, and the process goes on serving.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Exception;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Schema;
use HmsFfi\Server;
use PHPUnit\Framework\TestCase;

final class ReceivedValuesTest extends TestCase
{
    /** The schema both sides speak; `$raw` declares the text fields as bytes (the raw peer). */
    private static function schema(bool $raw): Schema
    {
        $text = $raw ? 'bytes' : 'string';
        $tags = $raw ? 'repeated RawTag tags = 16;' : 'map<string, string> tags = 16;';
        return Schema::fromSource('walk.proto', <<<PROTO
            syntax = "proto3";
            package walk.v1;
            import "google/type/decimal.proto";
            enum Kind { KIND_UNSPECIFIED = 0; KIND_LEAF = 1; KIND_BRANCH = 2; }
            message RawTag { bytes key = 1; string value = 2; }
            message Node {
              $text name = 1;
              Kind kind = 2;
              int64 lo = 3;
              int64 hi = 4;
              uint64 big = 5;
              sint64 s = 6;
              repeated bytes blobs = 7;
              map<string, Node> children = 8;
              map<int64, string> labels = 9;
              map<bool, int32> flags = 10;
              map<string, google.type.Decimal> prices = 11;
              repeated Kind kinds = 12;
              double ratio = 13;
              optional string note = 14;
              map<uint64, string> ids = 15;
              $tags
            }
            service Walk {
              rpc Echo(Node) returns (Node);
              rpc Chat(stream Node) returns (stream Node);
            }
            PROTO);
    }

    /** @return array<string, mixed> a node with every field set, `$depth` levels of children */
    private static function node(int $depth): array
    {
        $children = [];
        if ($depth > 0) {
            $children = ['left' => self::node($depth - 1), 'right' => self::node($depth - 1)];
        }
        return [
            'name' => "nœud ✓ $depth",
            'kind' => $depth > 0 ? 'KIND_BRANCH' : 'KIND_LEAF',
            'lo' => PHP_INT_MIN,
            'hi' => PHP_INT_MAX,
            'big' => $depth,
            's' => -$depth - 1,
            'blobs' => ["\x00\xff\xfe", '', 'plain'],
            'children' => $children,
            'labels' => [PHP_INT_MIN => 'min', -1 => 'minus one', PHP_INT_MAX => 'max'],
            'flags' => ['true' => 1, 'false' => -1],
            'prices' => ['a' => '1.50', 'b' => '-0.000000001'],
            'kinds' => ['KIND_LEAF', 'KIND_BRANCH', 'KIND_UNSPECIFIED'],
            'ratio' => 0.25,
            'note' => $depth % 2 === 0 ? null : "note $depth",
            'ids' => ['18446744073709551615' => 'u64 max', 7 => 'seven'],
            'tags' => ['' => 'empty', 'é' => 'accent'],
        ];
    }

    /** `$v` with every map's keys sorted (a list keeps its order): maps compare by content. */
    private static function canon(mixed $v): mixed
    {
        if (!is_array($v)) {
            return $v;
        }
        $v = array_map(self::canon(...), $v);
        if (!array_is_list($v)) {
            ksort($v, SORT_STRING);
        }
        return $v;
    }

    /**
     * A server of this process answering with what it was given (kept in `$seen`), on inproc
     * and unix.
     *
     * @param list<mixed> $seen
     * @return array{0: Server, 1: list<string>}
     */
    private static function echoServer(Schema $schema, array &$seen, ?callable $reply = null): array
    {
        $server = new Server($schema);
        $server->method('walk.v1.Walk/Echo', function (array $req, Context $ctx) use (&$seen, $reply): array {
            $seen[] = $req;
            return $reply === null ? $req : $reply($req);
        });
        $server->method('walk.v1.Walk/Chat', function (\Iterator $requests, Context $ctx) use (&$seen): \Generator {
            foreach ($requests as $r) {
                $seen[] = $r;
                yield $r;
            }
        });
        $id = getmypid() . '-' . bin2hex(random_bytes(4));
        $uris = [
            $server->listen("inproc://php-walk-$id"),
            $server->listen('unix://' . sys_get_temp_dir() . "/hms-php-walk-$id.sock"),
        ];
        return [$server, $uris];
    }

    public function testANestedMessageComesBackAsItWasSentOnEveryPath(): void
    {
        $seen = [];
        [$server, $uris] = self::echoServer(self::schema(false), $seen);
        $sent = self::node(3);
        $want = self::canon($sent);
        try {
            foreach ($uris as $uri) {
                $client = Client::connect($uri);
                $options = ['timeout' => 10];
                $got = [
                    'call' => $client->call('walk.v1.Walk/Echo', $sent, $options),
                    'metadata' => $client->callWithMetadata('walk.v1.Walk/Echo', $sent, $options)['reply'],
                    'start' => $client->start('walk.v1.Walk/Echo', $sent, $options)->wait(),
                    'batch' => $client->batch([['walk.v1.Walk/Echo', $sent]], $options)[0],
                    'stream' => iterator_to_array($client->stream('walk.v1.Walk/Chat', [$sent, $sent], $options))[1],
                ];
                foreach ($got as $path => $reply) {
                    self::assertSame($want, self::canon($reply), "$uri: $path");
                }
                // The types PHP gives them, beyond what equality shows.
                $reply = $got['call'];
                self::assertSame(PHP_INT_MIN, $reply['children']['left']['lo']);
                self::assertSame("\x00\xff\xfe", $reply['children']['right']['children']['left']['blobs'][0]);
                self::assertSame('1.50', $reply['children']['left']['prices']['a']);
                self::assertSame('u64 max', $reply['ids']['18446744073709551615']);
                self::assertSame(-1, $reply['flags']['false']);
            }
            // The handlers were given the message as sent, too (4 unary calls and 2 stream
            // messages on each of the two transports).
            self::assertCount(12, $seen);
            foreach ($seen as $i => $req) {
                self::assertSame($want, self::canon($req), "request $i");
            }
            // A uint64 beyond PHP_INT_MAX is a GMP number, as everywhere else.
            $client = Client::connect($uris[1]);
            $big = $client->call('walk.v1.Walk/Echo', ['big' => gmp_init('18446744073709551615')], ['timeout' => 10]);
            self::assertInstanceOf(\GMP::class, $big['big']);
            self::assertSame('18446744073709551615', gmp_strval($big['big']));
        } finally {
            $server->shutdown(0.0);
        }
    }

    public function testTextThatIsNotUtf8FromARawPeerIsATypedError(): void
    {
        // The server declares the text fields as bytes and answers with invalid UTF-8 in a
        // string field, or in a map key; the client reads them as text.
        $seen = [];
        $cases = [
            'name' => ['name' => "\xff\xfe"],
            'map key' => ['tags' => [['key' => "k\xff", 'value' => 'v']]],
        ];
        foreach ($cases as $what => $bad) {
            [$server, $uris] = self::echoServer(self::schema(true), $seen, fn (array $req): array => $bad);
            try {
                $client = Client::connect($uris[1], self::schema(false));
                try {
                    $client->call('walk.v1.Walk/Echo', ['name' => 'x'], ['timeout' => 10]);
                    self::fail("$what: no error");
                } catch (Exception $e) {
                    self::assertInstanceOf(InvalidArgumentException::class, $e, "$what: " . $e->getMessage());
                }
            } finally {
                $server->shutdown(0.0);
            }
        }
        // Sent the other way, the handler is not run: the caller gets InvalidArgument.
        $seen = [];
        [$server, $uris] = self::echoServer(self::schema(false), $seen);
        try {
            $raw = Client::connect($uris[1], self::schema(true));
            foreach ($cases as $what => $bad) {
                try {
                    $raw->call('walk.v1.Walk/Echo', $bad, ['timeout' => 10]);
                    self::fail("$what: no error");
                } catch (InvalidArgumentException $e) {
                    self::assertNotSame('', $e->getMessage());
                }
            }
            self::assertSame([], $seen);
            // The server goes on serving.
            $ok = Client::connect($uris[1])->call('walk.v1.Walk/Echo', ['name' => 'fine'], ['timeout' => 10]);
            self::assertSame('fine', $ok['name']);
        } finally {
            $server->shutdown(0.0);
        }
    }
}
