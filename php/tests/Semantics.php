<?php
// The call-semantics cases (tests/conformance/semantics) in PHP: the Semantics service a PHP
// conformance server adds, and the client that runs every case of semantics/calls.json. Used by
// the PHPUnit tests and tests/matrix/php/conformance.php.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\AbortedException;
use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Exception;
use HmsFfi\Schema;
use HmsFfi\Server;

final class Semantics
{
    public const SERVICE = 'hms.conformance.v1.Semantics';

    private static function dir(): string
    {
        return Conformance::root() . '/tests/conformance/semantics';
    }

    /** @return list<array<string, mixed>> */
    public static function cases(): array
    {
        return json_decode((string) file_get_contents(self::dir() . '/calls.json'), true, 512, JSON_THROW_ON_ERROR)['cases'];
    }

    /** @return array<string, string> the cases PHP skips in `$role` with their written reasons */
    public static function skips(string $role): array
    {
        $all = json_decode((string) file_get_contents(self::dir() . '/skips.json'), true, 512, JSON_THROW_ON_ERROR);
        return $all['php'][$role] ?? [];
    }

    /** `[[…[]…]]`: an empty list inside `$n` lists, built without recursion. */
    public static function nestList(int $n): array
    {
        $v = [];
        for ($i = 0; $i < $n; $i++) {
            $v = [$v];
        }
        return $v;
    }

    /** Frees a deep list one level at a time (PHP's own free would recurse once per level). */
    public static function unnest(mixed &$v): void
    {
        while (is_array($v) && count($v) === 1 && array_key_exists(0, $v)) {
            $v = $v[0];
        }
        $v = null;
    }

    /** A case's request: `"$self"` as `$uri`, `{"$nest_list": N}` built. */
    public static function request(mixed $j, string $uri): mixed
    {
        if (is_array($j)) {
            if (count($j) === 1 && array_key_exists('$nest_list', $j)) {
                return self::nestList($j['$nest_list']);
            }
            return array_map(fn($x) => self::request($x, $uri), $j);
        }
        return $j === '$self' ? $uri : $j;
    }

    /**
     * The Semantics methods, added to a conformance server, and the revision conformance-rev
     * (tests/conformance/revision.proto), whose Echo fails with ABORTED.
     */
    public static function serveOn(Server $server): void
    {
        $server->method(self::SERVICE . '/Context', [self::class, 'context']);
        $revision = Schema::load([Conformance::root() . '/tests/conformance/revision.proto']);
        $server->addRevision('conformance-rev', $revision);
        $server->method(Conformance::SERVICE . '/Echo', function (array $req): array {
            throw new AbortedException("revision {$req['unicode_text']}");
        }, 'conformance-rev');
        $server->method(self::SERVICE . '/Relay', function (array $req, Context $ctx): array {
            $client = Client::connect($req['target']);
            try {
                $client->call(Conformance::SERVICE . '/Fail', $req['fail']); // its exception goes on
            } finally {
                $client->close();
            }
            return [];
        });
    }

    /** @return array<string, mixed> */
    public static function context(array $req, Context $ctx): array
    {
        foreach ($req['set_headers'] as $k => $v) {
            $ctx->setHeader((string) $k, $v);
        }
        foreach ($req['set_trailers'] as $k => $v) {
            $ctx->setTrailer((string) $k, $v);
        }
        if ($req['fail_code'] !== '') {
            throw Exception::fromStatus(Conformance::codeNumber($req['fail_code']), $req['fail_message']);
        }
        if ($req['nest_reply'] > 0) {
            return ['nested' => self::nestList($req['nest_reply'])];
        }
        return [
            'method' => $ctx->method(),
            'metadata' => array_filter($ctx->metadata(), fn($k) => str_starts_with((string) $k, 'x-conf-'), ARRAY_FILTER_USE_KEY),
            'has_deadline' => $ctx->deadline() !== null,
            'has_trace_id' => $ctx->traceId() !== '',
        ];
    }

    /** Runs one case against the server at `$uri`; null when it passes, else why not. */
    public static function check(array $case, Client $client, string $uri): ?string
    {
        if (($case['client'] ?? null) === 'closed') {
            $client = Client::connect($uri);
            $client->close();
        }
        $options = ['metadata' => $case['metadata'] ?? []];
        if (isset($case['timeout_ms'])) {
            $options['timeout'] = $case['timeout_ms'] / 1000;
        }
        $request = self::request($case['request'], $uri);
        $expect = $case['expect'];
        try {
            if (isset($case['cancel_after_ms'])) {
                $call = $client->start($case['method'], $request, $options);
                usleep($case['cancel_after_ms'] * 1000);
                $call->cancel();
                $got = $call->waitWithMetadata();
            } else {
                $got = $client->callWithMetadata($case['method'], $request, $options);
            }
        } catch (Exception $e) {
            return self::failed($expect, $e);
        } finally {
            self::unnest($request);
        }
        if (!array_key_exists('reply', $expect)) {
            return "expected {$expect['error']['code']}, got a reply";
        }
        return Conformance::diff($got['reply'], $expect['reply'])
            ?? self::present($got['headers'], $expect['headers'] ?? [], 'header')
            ?? self::present($got['trailers'], $expect['trailers'] ?? [], 'trailer');
    }

    private static function failed(array $expect, Exception $e): ?string
    {
        if (!isset($expect['error'])) {
            return 'expected a reply, got ' . get_class($e) . ': ' . $e->getMessage();
        }
        $exp = $expect['error'];
        if ($e->codeName() !== $exp['code']) {
            return "expected {$exp['code']}, got " . $e->codeName() . ': ' . $e->getMessage();
        }
        if (isset($exp['message_contains']) && !str_contains($e->getMessage(), $exp['message_contains'])) {
            return "message '{$e->getMessage()}' lacks '{$exp['message_contains']}'";
        }
        if (isset($exp['violations'])) {
            $got = array_values(array_unique(array_map(fn($v) => $v['field'], $e->getFieldViolations())));
            $want = $exp['violations'];
            sort($got);
            sort($want);
            if ($got !== $want) {
                return 'violations ' . json_encode($got) . ', expected ' . json_encode($want);
            }
        }
        $details = $e->getDetails();
        if (isset($exp['reason']) && ($details['error_info']['reason'] ?? null) !== $exp['reason']) {
            return 'reason ' . json_encode($details['error_info']) . ", expected {$exp['reason']}";
        }
        foreach ($exp['origin'] ?? [] as $k => $v) {
            if (($details['origin'][$k] ?? null) !== $v) {
                return "origin $k: " . json_encode($details['origin']) . ", expected $v";
            }
        }
        return self::present($e->getHeaders(), $expect['headers'] ?? [], 'header')
            ?? self::present($e->getTrailers(), $expect['trailers'] ?? [], 'trailer');
    }

    /** null when every expected entry is in `$got`, else which is not. */
    private static function present(array $got, array $expected, string $what): ?string
    {
        foreach ($expected as $k => $v) {
            if (($got[$k] ?? null) !== $v) {
                return "$what $k: got " . json_encode($got[$k] ?? null) . ", expected $v (all: " . json_encode($got) . ')';
            }
        }
        return null;
    }

    /**
     * Runs every case (skipping PHP's written client skips).
     *
     * @return array{0: int, 1: list<string>, 2: list<string>} passed, `name: why` failures, `name: reason` skips
     */
    public static function runAll(Client $client, string $uri): array
    {
        $skips = self::skips('client');
        $passed = 0;
        $failures = [];
        $skipped = [];
        foreach (self::cases() as $case) {
            if (isset($skips[$case['name']])) {
                $skipped[] = "{$case['name']}: {$skips[$case['name']]}";
                continue;
            }
            $why = self::check($case, $client, $uri);
            if ($why === null) {
                $passed++;
            } else {
                $failures[] = "{$case['name']}: $why";
            }
        }
        return [$passed, $failures, $skipped];
    }
}
