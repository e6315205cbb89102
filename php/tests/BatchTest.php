<?php
// Batched calls (`$client->batch()`): one entry per call in order, a failed call's exception as
// a value (not thrown) while the others succeed, one deadline for the whole batch, and the
// oversized batch refused whole. The rules are the core's (docs/messaging.md, "Batched calls").
// The server is the Rust conformance program in a child process, which runs calls concurrently.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\DeadlineExceededException;
use HmsFfi\Exception;
use HmsFfi\InvalidArgumentException;
use HmsFfi\NotFoundException;
use HmsFfi\ResourceExhaustedException;
use HmsFfi\UnimplementedException;
use PHPUnit\Framework\TestCase;

final class BatchTest extends TestCase
{
    private const SCALARS = Conformance::SERVICE . '/EchoScalars';
    private const SLEEP = Conformance::SERVICE . '/Sleep';
    private const FAIL = Conformance::SERVICE . '/Fail';

    private static ?Child $server = null;
    private static string $uri;

    public static function setUpBeforeClass(): void
    {
        self::$uri = Child::socket('batch');
        self::$server = Child::rust('serve', self::$uri);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    public function testEntriesInOrderWithAFailedCallTypedAsAValue(): void
    {
        $calls = [];
        for ($i = 0; $i < 50; $i++) {
            $calls[] = [self::SCALARS, ['int32_v' => $i]];
        }
        $calls[5] = [self::FAIL, ['code' => 'NOT_FOUND', 'message' => 'gone']];
        $calls[6] = [Conformance::SERVICE . '/Nope', []];
        $calls[7] = [self::SCALARS, ['int32_v' => 'seven']];
        $entries = Client::connect(self::$uri)->batch($calls, ['timeout' => 20]);
        self::assertCount(50, $entries);
        self::assertInstanceOf(NotFoundException::class, $entries[5]);
        self::assertSame('gone', $entries[5]->getMessage());
        self::assertInstanceOf(UnimplementedException::class, $entries[6]);
        self::assertInstanceOf(InvalidArgumentException::class, $entries[7]);
        foreach ($entries as $i => $entry) {
            if ($i < 5 || $i > 7) {
                self::assertSame($i, $entry['int32_v'], "entry $i");
            }
        }
        self::assertSame([], Client::connect(self::$uri)->batch([]));
    }

    public function testOneDeadlineForTheWholeBatch(): void
    {
        $start = microtime(true);
        $entries = Client::connect(self::$uri)->batch([
            [self::SLEEP, ['millis' => 5000]],
            [self::SCALARS, ['int32_v' => 1]],
        ], ['timeout' => 0.3]);
        self::assertInstanceOf(DeadlineExceededException::class, $entries[0]);
        self::assertSame(1, $entries[1]['int32_v']);
        self::assertLessThan(4.0, microtime(true) - $start);
    }

    public function testAnOversizedBatchIsRefusedWhole(): void
    {
        $calls = array_fill(0, 100001, [self::SCALARS, []]);
        try {
            Client::connect(self::$uri)->batch($calls);
            self::fail('expected InvalidArgumentException');
        } catch (InvalidArgumentException $e) {
            self::assertStringContainsString('at most', $e->getMessage());
        }
    }

    public function testARequestNestedPastTheLimitIsItsOwnError(): void
    {
        $deep = [];
        for ($i = 0; $i < 100000; $i++) {
            $deep = [$deep];
        }
        $entries = Client::connect(self::$uri)->batch([
            [self::SCALARS, ['string_v' => $deep]],
            [self::SCALARS, ['int32_v' => 2]],
        ], ['timeout' => 10]);
        self::assertInstanceOf(ResourceExhaustedException::class, $entries[0]);
        self::assertSame(2, $entries[1]['int32_v']);
    }

    public function testACallThatIsNoPairIsABadOption(): void
    {
        $this->expectException(Exception::class);
        Client::connect(self::$uri)->batch([['only-a-method']]);
    }
}
