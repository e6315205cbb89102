<?php
// Versions at connect from PHP (issue 21, docs/evolution.md): a client built against v1 of a
// schema learns at connect which methods a v2 server breaks; the core refuses calls to them
// with FailedPreconditionException (reason INCOMPATIBLE_SCHEMA) and lets the others through.
// The server runs in this process: a client call that waits runs its queued handlers.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\FailedPreconditionException;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Schema;
use HmsFfi\Server;
use PHPUnit\Framework\TestCase;

final class VersionsTest extends TestCase
{
    private const V1 = <<<'PROTO'
        syntax = "proto3";
        package shop.v1;
        message Item { int32 count = 1; }
        message GetRequest { string id = 1; }
        message ListRequest {}
        service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
        PROTO;

    /** GetRequest.id becomes an int64 (Get breaks), Item gains a field (List keeps working). */
    private static function v2(): string
    {
        return str_replace(
            ['string id = 1', 'int32 count = 1;'],
            ['int64 id = 1', 'int32 count = 1; string name = 2;'],
            self::V1,
        );
    }

    public function testAClientBuiltAgainstV1LearnsAtConnectWhatAV2ServerBreaks(): void
    {
        $server = new Server(Schema::fromSource('shop.proto', self::v2()));
        $seen = [];
        $server->method('shop.v1.Shop/Get', function (array $req) use (&$seen): array {
            $seen[] = 'Get';
            return ['count' => 1];
        });
        $server->method('shop.v1.Shop/List', function (array $req) use (&$seen): array {
            $seen[] = 'List';
            return ['count' => 2, 'name' => 'pen'];
        });
        $uri = $server->listen(Child::socket('versions'));
        $server->setSchemaVersion('shop.v1', 2);
        try {
            $client = Client::connect($uri, null, ['expect_schema' => Schema::fromSource('shop.proto', self::V1)]);
            self::assertSame($server->schemaVersion(), $client->schemaVersion());
            $version = $client->schemaVersion();
            self::assertSame(['shop.v1', 2], [$version['subject'], $version['version']]);
            self::assertStringStartsWith('sha256:', $version['fingerprint']);
            $broken = $client->incompatibleMethods();
            self::assertSame(['shop.v1.Shop/Get'], array_keys($broken));
            self::assertStringContainsString('FIELD_WIRE_JSON_COMPATIBLE_TYPE', $broken['shop.v1.Shop/Get'][0]);
            try {
                $client->call('shop.v1.Shop/Get', ['id' => '7'], ['timeout' => 10]);
                self::fail('Get is broken by the server\'s schema');
            } catch (FailedPreconditionException $e) {
                self::assertSame('INCOMPATIBLE_SCHEMA', $e->getDetails()['error_info']['reason']);
                self::assertStringContainsString('FIELD_WIRE_JSON_COMPATIBLE_TYPE', $e->getMessage());
            }
            self::assertSame(2, $client->call('shop.v1.Shop/List', [], ['timeout' => 10])['count']);
            self::assertSame(['List'], $seen);
            $client->close();
        } finally {
            $server->shutdown(1.0);
        }
    }

    public function testAClientGivenItsSchemaHasNoAnnouncedVersion(): void
    {
        $schema = Schema::fromSource('shop.proto', self::V1);
        $server = new Server($schema);
        $uri = $server->listen(Child::socket('versions-given'));
        try {
            $version = $server->schemaVersion();
            self::assertSame(['', 0], [$version['subject'], $version['version']]);
            $client = Client::connect($uri, $schema);
            self::assertNull($client->schemaVersion());
            self::assertSame([], $client->incompatibleMethods());
            $this->expectException(InvalidArgumentException::class);
            Client::connect($uri, null, ['expect_schema' => 'shop.proto']);
        } finally {
            $server->shutdown(1.0);
        }
    }
}
