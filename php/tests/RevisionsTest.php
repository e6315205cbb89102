<?php
// Two versions side by side from PHP (docs/evolution.md): a server serving two revisions of one
// package, clients choosing theirs at connect or with the hms-schema-revision metadata entry,
// and a v1 handler answering v2 callers through a bridge. The server runs in this process: a
// client call that waits runs its queued handlers.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\AlreadyExistsException;
use HmsFfi\Client;
use HmsFfi\FailedPreconditionException;
use HmsFfi\NotFoundException;
use HmsFfi\Schema;
use HmsFfi\Server;
use PHPUnit\Framework\TestCase;

final class RevisionsTest extends TestCase
{
    private const REV1 = <<<'PROTO'
        syntax = "proto3";
        package acme.v1;
        message HelloRequest { string name = 1; }
        message HelloReply { string message = 1; }
        service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
        PROTO;
    private const HELLO = 'acme.v1.Greeter/SayHello';

    /** Revision 2: the fields renamed (the same numbers) and new ones added. */
    private static function rev2(): string
    {
        return str_replace(
            ['string name = 1;', 'string message = 1;'],
            ['string full_name = 1; string locale = 2;', 'string text = 1; int32 length = 2;'],
            self::REV1,
        );
    }

    private static function schema(string $text): Schema
    {
        return Schema::fromSource('acme/v1/greeter.proto', $text);
    }

    public function testAServerServesTwoRevisionsAndBridgesOne(): void
    {
        $server = new Server(self::schema(self::rev2()));
        $server->method(self::HELLO, fn (array $req): array => ['text' => "v2 {$req['full_name']}", 'length' => 3]);
        $fingerprint = $server->addRevision('rev1', self::schema(self::REV1));
        self::assertSame(['rev1' => $fingerprint], $server->revisions());
        $server->method(self::HELLO, fn (array $req): array => ['message' => "v1 {$req['name']}"], 'rev1');
        $uri = $server->listen(Child::socket('revisions'));
        try {
            $main = Client::connect($uri);
            self::assertNull($main->revision());
            self::assertSame(['rev1' => $fingerprint], $main->revisions());
            self::assertSame('v2 Ada', $main->call(self::HELLO, ['full_name' => 'Ada'], ['timeout' => 10])['text']);
            $v1 = Client::connect($uri, null, ['revision' => 'rev1']);
            self::assertSame($fingerprint, $v1->revision());
            self::assertSame('v1 Ada', $v1->call(self::HELLO, ['name' => 'Ada'], ['timeout' => 10])['message']);
            $built = Client::connect($uri, null, ['expect_schema' => self::schema(self::REV1)]);
            self::assertSame($fingerprint, $built->revision());
            self::assertSame([], $built->incompatibleMethods());

            // Per call, with the metadata entry, from a client given revision 1's schema.
            $given = Client::connect($uri, self::schema(self::REV1));
            $chosen = ['timeout' => 10, 'metadata' => ['hms-schema-revision' => 'rev1']];
            self::assertSame('v1 Bo', $given->call(self::HELLO, ['name' => 'Bo'], $chosen)['message']);
            try {
                $given->call(self::HELLO, ['name' => 'Bo'], ['timeout' => 10, 'metadata' => ['hms-schema-revision' => 'rev9']]);
                self::fail('rev9 is not served');
            } catch (FailedPreconditionException $e) {
                self::assertSame('UNKNOWN_SCHEMA_REVISION', $e->getDetails()['error_info']['reason']);
                self::assertStringContainsString('rev1 sha256:', $e->getMessage());
            }

            // The bridge: the v1 handler answers v2 callers, the renamed fields matched by number.
            $server->bridge('rev1', self::HELLO);
            $reply = $main->call(self::HELLO, ['full_name' => 'Ada', 'locale' => 'en'], ['timeout' => 10]);
            self::assertSame('v1 Ada', $reply['text']);
            foreach ([$main, $v1, $built, $given] as $c) {
                $c->close();
            }
        } finally {
            $server->shutdown(1.0);
        }
    }

    public function testRevisionsAreRefusedWhenAlreadyServedOrUnknown(): void
    {
        $server = new Server(self::schema(self::rev2()));
        $server->addRevision('rev1', self::schema(self::REV1));
        try {
            $server->addRevision('rev1', self::schema(self::REV1));
            self::fail('rev1 is served already');
        } catch (AlreadyExistsException $e) {
            self::assertStringContainsString('rev1', $e->getMessage());
        }
        $this->expectException(NotFoundException::class);
        $server->method(self::HELLO, fn (array $req): array => $req, 'nope');
    }
}
