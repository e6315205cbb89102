<?php
// Errors: one class per gRPC code, handler exceptions as INTERNAL with class, message and trace,
// and a server that keeps serving after each.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Exception;
use HmsFfi\InternalException;
use HmsFfi\InvalidArgumentException;
use HmsFfi\NotFoundException;
use HmsFfi\ResourceExhaustedException;
use HmsFfi\Schema;
use HmsFfi\Server;
use HmsFfi\UnavailableException;
use PHPUnit\Framework\TestCase;

final class ErrorsTest extends TestCase
{
    private const DO = 'phptest.v1.Test/Do';

    private static ?Child $server = null;
    private static string $uri;

    public static function setUpBeforeClass(): void
    {
        self::$uri = Child::socket('errors');
        self::$server = Child::php(__DIR__ . '/fixtures/server.php', self::$uri);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    private function client(): Client
    {
        return Client::connect(self::$uri);
    }

    private function failure(callable $call): Exception
    {
        try {
            $call();
        } catch (Exception $e) {
            return $e;
        }
        self::fail('expected an HmsFfi\Exception');
    }

    public function testEveryCodeHasItsOwnClass(): void
    {
        $client = $this->client();
        $names = [];
        for ($code = 1; $code <= 16; $code++) {
            $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'code', 'code' => $code, 'text' => "code $code"]));
            self::assertSame(Exception::classForCode($code), get_class($e));
            self::assertInstanceOf(\Exception::class, $e);
            self::assertSame($code, $e->getCode());
            self::assertSame("code $code", $e->getMessage());
            $names[] = $e->codeName();
        }
        self::assertSame('NOT_FOUND', $names[4]);
        self::assertSame('UNAUTHENTICATED', $names[15]);
        self::assertCount(16, array_unique($names));
        self::assertSame(NotFoundException::class, Exception::classForCode(5));
    }

    public function testDetailsCarryViolationsAndOrigin(): void
    {
        $e = $this->failure(fn() => $this->client()->call(self::DO, ['action' => 'code', 'code' => 3, 'text' => 'bad']));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        self::assertSame([['field' => 'a.b', 'description' => 'is bad']], $e->getFieldViolations());
        $details = $e->getDetails();
        self::assertSame('php', $details['origin']['language']);
        self::assertSame('phptest.v1.Test', $details['origin']['service']);
    }

    public function testARethrownErrorKeepsItsErrorInfoAndOrigin(): void
    {
        $direct = $this->failure(fn() => $this->client()->call(self::DO, ['action' => 'info']));
        $uri = Child::socket('errors-relay');
        $second = Child::php(__DIR__ . '/fixtures/server.php', $uri);
        try {
            $relayed = $this->failure(fn() => $this->client()->call(self::DO, ['action' => 'relay', 'text' => $uri]));
        } finally {
            $second->stop();
        }
        foreach ([$direct, $relayed] as $e) {
            self::assertInstanceOf(NotFoundException::class, $e);
            self::assertSame('no user 7', $e->getMessage());
            $info = $e->getDetails()['error_info'];
            self::assertSame('NO_SUCH_USER', $info['reason']);
            self::assertSame('users.example', $info['domain']);
            self::assertSame(['id' => '7'], $info['metadata']);
            self::assertSame(['language' => 'go', 'service' => 'users.v1.Users', 'method' => 'Get'], $e->getDetails()['origin']);
        }
    }

    public function testAPhpExceptionInAHandlerIsInternalAndTheServerGoesOn(): void
    {
        $client = $this->client();
        $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'throw', 'text' => 'boom']));
        self::assertInstanceOf(InternalException::class, $e);
        self::assertSame('INTERNAL', $e->codeName());
        self::assertStringContainsString('RuntimeException: boom', $e->getMessage());
        $debug = $e->getDetails()['debug_info'];
        self::assertSame('RuntimeException: boom', $debug['detail']);
        self::assertStringContainsString('fixtures/server.php:', $debug['stack_entries'][0]);
        self::assertGreaterThan(1, count($debug['stack_entries']));
        self::assertSame(['text' => 'still here', 'metadata' => []], $client->call(self::DO, ['action' => 'echo', 'text' => 'still here']));
    }

    public function testBadRepliesAreInternalAndTheServerGoesOn(): void
    {
        $client = $this->client();
        $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'bad-reply']));
        self::assertInstanceOf(InternalException::class, $e);
        self::assertStringContainsString('nope', json_encode($e->getDetails()) . $e->getMessage());
        $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'not-array']));
        self::assertInstanceOf(InternalException::class, $e);
        self::assertSame('ok', $client->call(self::DO, ['action' => 'echo', 'text' => 'ok'])['text']);
    }

    public function testA100000DeepValueIsResourceExhaustedWithItsPathBothWays(): void
    {
        $deep = [];
        for ($i = 0; $i < 100000; $i++) {
            $deep = [$deep];
        }
        $client = $this->client();
        $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'echo', 'text' => $deep]));
        self::assertInstanceOf(ResourceExhaustedException::class, $e);
        self::assertSame('NESTING_TOO_DEEP', $e->getDetails()['error_info']['reason']);
        self::assertStringStartsWith('text[0][0]', $e->getFieldViolations()[0]['field']);
        $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'deep']));
        self::assertInstanceOf(ResourceExhaustedException::class, $e);
        self::assertStringStartsWith('text[0]', $e->getFieldViolations()[0]['field']);
        self::assertSame('ok', $client->call(self::DO, ['action' => 'echo', 'text' => 'ok'])['text']);
    }

    public function testBadRequestsAreInvalidArgumentWithPaths(): void
    {
        $e = $this->failure(fn() => $this->client()->call(self::DO, ['action' => 'echo', 'text' => 5, 'code' => 'x', 'extra' => 1]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        $fields = array_column($e->getFieldViolations(), 'field');
        sort($fields);
        self::assertSame(['code', 'extra', 'text'], $fields);
    }

    public function testUnknownMethodsAndBadOptionsAreTyped(): void
    {
        $client = $this->client();
        $e = $this->failure(fn() => $client->call('phptest.v1.Test/Nope', []));
        self::assertSame(Exception::classForCode($e->getCode()), get_class($e));
        self::assertStringContainsString('Nope', $e->getMessage());
        $e = $this->failure(fn() => $client->call(self::DO, [], ['timeuot' => 1]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        self::assertStringContainsString('timeuot', $e->getMessage());
        $e = $this->failure(fn() => Schema::load(42));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        self::assertStringContainsString('a path or a list of paths', $e->getMessage());
        $e = $this->failure(fn() => Schema::load(__DIR__ . '/fixtures/no-such.proto'));
        self::assertSame(Exception::classForCode($e->getCode()), get_class($e));
    }

    public function testContextAndMetadataReachTheHandler(): void
    {
        $reply = $this->client()->call(self::DO, ['action' => 'context'], ['timeout' => 5, 'metadata' => ['x-user' => 'ada']]);
        self::assertSame(self::DO . ' unix', $reply['text']);
        self::assertSame('ada', $reply['metadata']['x-user']);
    }

    public function testNobodyListeningIsUnavailable(): void
    {
        $e = $this->failure(fn() => Client::connect(Child::socket('nobody')));
        self::assertInstanceOf(UnavailableException::class, $e);
    }

    public function testShutdownFromAHandlerEndsServeAfterItsReply(): void
    {
        // The reply races the process exit that follows serve(): try it a few times.
        for ($i = 0; $i < 8; $i++) {
            $uri = Child::socket("shutdown-$i");
            $child = Child::php(__DIR__ . '/fixtures/server.php', $uri);
            self::assertSame('bye', Client::connect($uri)->call(self::DO, ['action' => 'shutdown'])['text']);
            self::assertSame(0, $child->wait(), 'serve() returned and the script ended');
        }
    }

    public function testShutdownFromAHandlerInOneProcessKeepsItsReply(): void
    {
        $server = new Server(Schema::load(__DIR__ . '/fixtures/test.proto'));
        $server->method(self::DO, function (array $req, Context $ctx) use ($server): array {
            $server->shutdown(5.0);
            return ['text' => 'bye'];
        });
        $server->listen('inproc://php-errors-stop');
        $client = Client::connect('inproc://php-errors-stop');
        $t = microtime(true);
        self::assertSame('bye', $client->call(self::DO, ['action' => 'x'])['text']);
        self::assertLessThan(4.0, microtime(true) - $t, 'the stop did not wait out its grace for its own call');
        self::assertTrue($server->isStopped());
        $e = $this->failure(fn() => $client->call(self::DO, ['action' => 'x']));
        self::assertInstanceOf(UnavailableException::class, $e);
    }

    public function testExceptionsAreBuiltFromDetails(): void
    {
        $e = new NotFoundException('gone', ['field_violations' => ['id' => 'unknown']]);
        self::assertSame(5, $e->getCode());
        self::assertSame('NOT_FOUND', $e->codeName());
        self::assertSame([['field' => 'id', 'description' => 'unknown']], $e->getFieldViolations());
        self::assertNull($e->getDetails()['origin']);
    }
}
