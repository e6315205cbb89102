<?php
// auto://NAME from PHP (issue 18): a server announces a name; a client finds it (in-process
// when it can, else over shared memory or the transport it is told) and says which transport
// it picked. PHP only passes the URI: the choice is the core's. The server runs in this
// process: a client call that waits runs this thread's queued handlers meanwhile.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\InvalidArgumentException;
use HmsFfi\Schema;
use HmsFfi\Server;
use HmsFfi\UnavailableException;
use PHPUnit\Framework\TestCase;

final class AutoTest extends TestCase
{
    private const PROTO = <<<'PROTO'
        syntax = "proto3";
        package phpauto.v1;
        message Msg { string text = 1; string transport = 2; }
        service Echo { rpc Say(Msg) returns (Msg); }
        PROTO;

    public function testAClientFindsAServerByNameAndSaysWhichTransportItPicked(): void
    {
        $run = sys_get_temp_dir() . '/hms-php-auto-' . getmypid();
        mkdir($run, 0700);
        $saved = getenv('XDG_RUNTIME_DIR');
        putenv("XDG_RUNTIME_DIR=$run");
        try {
            $server = new Server(Schema::fromSource('auto.proto', self::PROTO));
            $server->method('phpauto.v1.Echo/Say', fn (array $req, Context $ctx): array =>
                ['text' => $req['text'], 'transport' => $ctx->transport()]);
            self::assertSame('auto://phpauto', $server->listen('auto://phpauto'));
            $record = "$run/hms-ffi/auto/phpauto.json";
            self::assertFileExists($record);
            $cases = [
                'auto://phpauto' => ['inproc://phpauto', 'inproc'],
                'auto://phpauto?transports=shm' => ['shm://phpauto', 'shm'],
                'auto://phpauto?transports=unix' => ["unix://$run/hms-ffi/auto/phpauto.sock", 'unix'],
            ];
            foreach ($cases as $uri => [$picked, $transport]) {
                $client = Client::connect($uri);
                self::assertSame($picked, $client->transport(), $uri);
                $reply = $client->call('phpauto.v1.Echo/Say', ['text' => $uri], ['timeout' => 5]);
                self::assertSame(['text' => $uri, 'transport' => $transport], $reply);
                self::assertSame($picked, $client->endpoints()[0]['connected']);
                $client->close();
                self::assertNull($client->transport());
            }
            $server->shutdown(0.0);
            self::assertFileDoesNotExist($record);
            $this->expectFailure(UnavailableException::class, 'auto://phpauto');
            $this->expectFailure(InvalidArgumentException::class, 'auto://a/b');
            $this->expectFailure(InvalidArgumentException::class, 'auto://x?transports=pigeon');
        } finally {
            putenv($saved === false ? 'XDG_RUNTIME_DIR' : "XDG_RUNTIME_DIR=$saved");
            exec('rm -rf ' . escapeshellarg($run));
        }
    }

    /** @param class-string<\Throwable> $class */
    private function expectFailure(string $class, string $uri): void
    {
        try {
            Client::connect($uri);
            self::fail("$uri connected");
        } catch (\Throwable $e) {
            self::assertInstanceOf($class, $e, $uri);
        }
    }
}
