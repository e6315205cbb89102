<?php
// The streaming conformance vectors (tests/conformance/streams) in PHP: the server's streaming
// methods as tests/conformance/README.md ("Streaming") specifies them, and a client that runs
// each case. Used by the PHPUnit tests and tests/matrix/php/conformance.php.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\AbortedException;
use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Exception;
use HmsFfi\Requests;
use HmsFfi\Server;
use HmsFfi\UnimplementedException;

final class StreamVectors
{
    private const SERVICE = Conformance::SERVICE;

    /** ServerStream, ClientStream and Bidi on `$server`. */
    public static function serveOn(Server $server): void
    {
        $server->method(self::SERVICE . '/ServerStream', function (array $req, Context $ctx): \Generator {
            $counts = $req['counts'];
            for ($i = 0; $i < ($counts['repeat'] ?? 3); $i++) {
                if (isset($counts['fail_after']) && $i === $counts['fail_after']) {
                    throw new AbortedException("failed after $i replies");
                }
                Conformance::pause($ctx, $counts['sleep_ms'] ?? 0, 'cancelled while streaming');
                yield ['weight_mg' => $i] + $req;
            }
        });
        $server->method(self::SERVICE . '/ClientStream', function (Requests $requests, Context $ctx): array {
            $last = [];
            $n = 0;
            foreach ($requests as $request) {
                $last = $request;
                $n++;
            }
            return ['weight_mg' => $n] + $last;
        });
        $server->method(self::SERVICE . '/Bidi', function (Requests $requests, Context $ctx): \Generator {
            foreach ($requests as $i => $request) {
                if (isset($request['counts']['fail'])) {
                    throw new AbortedException("failed after $i replies");
                }
                yield ['weight_mg' => $i] + $request;
            }
        });
    }

    /** @return list<array{id: string, method: string, requests: list<mixed>, timeout: float, cancel_after: ?int, expect: array<string, mixed>}> */
    public static function cases(): array
    {
        $file = Conformance::root() . '/tests/conformance/streams/streams.json';
        $data = json_decode((string) file_get_contents($file), false, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        $out = [];
        foreach ($data->cases as $c) {
            $out[] = [
                'id' => "streams/{$c->name}",
                'method' => $c->method,
                'requests' => array_map(fn($r) => Conformance::topLevel(Conformance::notation($r)), $c->requests),
                'timeout' => ($c->timeout_ms ?? 30000) / 1000,
                'cancel_after' => $c->cancel_after_replies ?? null,
                'expect' => Conformance::notation($c->expect, false),
            ];
        }
        return $out;
    }

    /** Whether the server streams (a binding without streams answers UNIMPLEMENTED). */
    public static function serverStreams(Client $client): bool
    {
        try {
            iterator_to_array($client->stream(self::SERVICE . '/ServerStream', ['counts' => ['repeat' => 0]], ['timeout' => 10]));
            return true;
        } catch (UnimplementedException) {
            return false;
        }
    }

    /** Runs one case as a client; null when it passes, else why not. */
    public static function check(array $case, Client $client): ?string
    {
        $sent = str_ends_with($case['method'], '/ServerStream') ? (array) $case['requests'][0] : $case['requests'];
        $started = microtime(true);
        $replies = [];
        $error = null;
        try {
            $stream = $client->stream($case['method'], $sent, ['timeout' => $case['timeout']]);
            foreach ($stream as $reply) {
                $replies[] = $reply;
                if (count($replies) === $case['cancel_after']) {
                    $stream->cancel();
                }
            }
        } catch (Exception $e) {
            $error = $e;
        }
        $exp = (array) $case['expect'];
        if (isset($exp['error'])) {
            if ($error === null) {
                return "expected {$exp['error']['code']}, the stream ended with " . count($replies) . ' replies';
            }
            $why = Conformance::checkError($error, (array) $exp['error']);
            if ($why !== null) {
                return $why;
            }
        } elseif ($error !== null) {
            return 'expected the stream to end, got ' . get_class($error) . ': ' . $error->getMessage();
        }
        if ($case['cancel_after'] !== null && microtime(true) - $started > 5) {
            return 'a cancelled stream did not end promptly';
        }
        if (isset($exp['count']) && count($replies) !== $exp['count']) {
            return count($replies) . " replies, expected {$exp['count']}";
        }
        if (isset($exp['replies'])) {
            if (count($replies) !== count($exp['replies'])) {
                return count($replies) . ' replies, expected ' . count($exp['replies']);
            }
            foreach ($exp['replies'] as $i => $want) {
                $why = Conformance::diff($replies[$i], $want, "[$i]");
                if ($why !== null) {
                    return $why;
                }
            }
        }
        return null;
    }

    /** Every case against `$client`: [passed, failures, skipped]; all skipped when the server
     * does not stream. */
    public static function runAll(Client $client): array
    {
        $cases = self::cases();
        if (!self::serverStreams($client)) {
            return [0, [], count($cases)];
        }
        $passed = 0;
        $failures = [];
        foreach ($cases as $case) {
            $why = self::check($case, $client);
            if ($why === null) {
                $passed++;
            } else {
                $failures[] = "{$case['id']}: $why";
            }
        }
        return [$passed, $failures, 0];
    }
}
