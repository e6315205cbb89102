<?php
// The shared conformance vectors (tests/conformance) in PHP: notation, comparison, the
// conformance server's handlers (with the Semantics methods, Semantics.php). Used by the PHPUnit
// tests and tests/matrix/php/conformance.php.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Bytes;
use HmsFfi\CancelledException;
use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Exception;
use HmsFfi\Schema;
use HmsFfi\Server;
use HmsFfi\Timestamp;

final class Conformance
{
    public const SERVICE = 'hms.conformance.v1.Conformance';

    public static function root(): string
    {
        return dirname(__DIR__, 2);
    }

    public static function schema(): Schema
    {
        return Schema::load(self::root() . '/tests/conformance/conformance.proto');
    }

    /** @return list<array{id: string, method: string, request: mixed, timeout: float, expect: array<string, mixed>}> */
    public static function cases(): array
    {
        $out = [];
        $files = glob(self::root() . '/tests/conformance/vectors/*.json') ?: [];
        sort($files);
        foreach ($files as $file) {
            $data = json_decode((string) file_get_contents($file), false, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
            foreach ($data->cases as $c) {
                $out[] = [
                    'id' => basename($file, '.json') . '/' . $c->name,
                    'method' => $c->method,
                    'request' => self::topLevel(self::notation($c->request)),
                    'timeout' => ($c->timeout_ms ?? 30000) / 1000,
                    'expect' => self::notation($c->expect, false),
                ];
            }
        }
        return $out;
    }

    /**
     * Value notation (tests/conformance/README.md, JSON decoded with objects kept) → PHP natives.
     * Requests send bytes as HmsFfi\Bytes; replies hold plain strings. An empty JSON object is an
     * empty stdClass (PHP's `{}`) on both sides.
     */
    public static function notation(mixed $j, bool $request = true): mixed
    {
        if ($j instanceof \stdClass) {
            $fields = get_object_vars($j);
            if (count($fields) === 1 && str_starts_with((string) array_key_first($fields), '$')) {
                $tag = (string) array_key_first($fields);
                $v = self::tagged(substr($tag, 1), $fields[$tag]);
                return $request && str_contains($tag, 'bytes') ? new Bytes($v) : $v;
            }
            if ($fields === []) {
                return new \stdClass();
            }
            return array_map(fn($x) => self::notation($x, $request), $fields);
        }
        if (is_array($j)) {
            return array_map(fn($x) => self::notation($x, $request), $j);
        }
        return $j;
    }

    /** A request is an array: an empty JSON object at the top is []. */
    public static function topLevel(mixed $request): mixed
    {
        return $request instanceof \stdClass ? [] : $request;
    }

    private static function tagged(string $tag, mixed $v): mixed
    {
        $v = $v instanceof \stdClass ? get_object_vars($v) : $v;
        switch ($tag) {
            case 'int':
                $n = filter_var($v, FILTER_VALIDATE_INT);
                return $n === false ? gmp_init($v) : $n;
            case 'float':
                return match ($v) {
                    'nan' => NAN,
                    'inf' => INF,
                    '-inf' => -INF,
                    default => (float) $v,
                };
            case 'bytes':
                return base64_decode($v, true);
            case 'bytes_fill':
                return str_repeat(chr($v['byte']), $v['len']);
            case 'string_fill':
                return str_repeat($v['text'], $v['count']);
            case 'timestamp':
                return self::timestamp($v);
            case 'duration':
                return $v;
        }
        throw new \LogicException("unknown notation tag \${$tag}");
    }

    /** An RFC 3339 text as an HmsFfi\Timestamp with every nanosecond. */
    public static function timestamp(string $text): Timestamp
    {
        if (!preg_match('/^(.*?)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$/', $text, $m)) {
            throw new \LogicException("bad timestamp $text");
        }
        $zone = strtoupper($m[3]) === 'Z' ? '+00:00' : $m[3];
        $whole = new \DateTimeImmutable($m[1] . $zone);
        return Timestamp::fromUnix($whole->getTimestamp(), (int) str_pad($m[2], 9, '0'));
    }

    /** null when equal, else where they differ. Map keys compare as text. */
    public static function diff(mixed $actual, mixed $expected, string $path = '.'): ?string
    {
        if ($expected instanceof \stdClass) {
            // `{}`: an empty message or map field comes back as [], an empty JSON object (a
            // google.protobuf.Struct) as an empty stdClass; never a non-empty value.
            $empty = $actual === [] || ($actual instanceof \stdClass && get_object_vars($actual) === []);
            return $empty ? null : "at $path: got " . var_export($actual, true) . ', expected {}';
        }
        $show = fn($x) => var_export($x instanceof \GMP ? gmp_strval($x) . 'n' : ($x instanceof \DateTimeInterface ? Timestamp::unixParts($x) : $x), true);
        if (is_array($expected)) {
            if (!is_array($actual) || count($actual) !== count($expected)) {
                return "at $path: got " . $show($actual) . ', expected ' . $show($expected);
            }
            if (array_is_list($expected) && $expected !== []) {
                if (!array_is_list($actual)) {
                    return "at $path: got a map, expected a list";
                }
            }
            foreach ($expected as $k => $v) {
                if (!array_key_exists($k, $actual)) {
                    return "at $path: missing key $k";
                }
                $why = self::diff($actual[$k], $v, "$path.$k");
                if ($why !== null) {
                    return $why;
                }
            }
            return null;
        }
        if (is_float($expected) && is_nan($expected)) {
            return is_float($actual) && is_nan($actual) ? null : "at $path: got " . $show($actual) . ', expected NAN';
        }
        if ($expected instanceof \DateTimeInterface) {
            $ok = $actual instanceof \DateTimeInterface && Timestamp::unixParts($actual) === Timestamp::unixParts($expected);
            return $ok ? null : "at $path: got " . $show($actual) . ', expected ' . $show($expected);
        }
        if ($expected instanceof \GMP) {
            $ok = $actual instanceof \GMP && gmp_cmp($actual, $expected) === 0;
            return $ok ? null : "at $path: got " . $show($actual) . ', expected ' . $show($expected);
        }
        if (is_float($expected) && !is_float($actual)) {
            return "at $path: got " . $show($actual) . ' (' . get_debug_type($actual) . '), expected float ' . $show($expected);
        }
        return $actual === $expected ? null : "at $path: got " . $show($actual) . ', expected ' . $show($expected);
    }

    /** Runs one case as a client; null when it passes, else why not. */
    public static function check(array $case, Client $client): ?string
    {
        try {
            $reply = $client->call($case['method'], $case['request'], ['timeout' => $case['timeout']]);
        } catch (Exception $e) {
            if (!isset($case['expect']['error'])) {
                return 'expected a reply, got ' . get_class($e) . ': ' . $e->getMessage();
            }
            return self::checkError($e, $case['expect']['error']);
        }
        if (!isset($case['expect']['reply'])) {
            return 'expected ' . $case['expect']['error']['code'] . ', got a reply';
        }
        return self::diff($reply, $case['expect']['reply']);
    }

    /** An error against a case's expected one; null when it matches, else why not. */
    public static function checkError(Exception $e, array $exp): ?string
    {
        if ($e->codeName() !== $exp['code']) {
            return "expected {$exp['code']}, got " . $e->codeName() . ': ' . $e->getMessage();
        }
        if (get_class($e) !== Exception::classForCode($e->getCode())) {
            return 'wrong class ' . get_class($e);
        }
        if (isset($exp['message_contains']) && !str_contains($e->getMessage(), $exp['message_contains'])) {
            return "message '{$e->getMessage()}' lacks '{$exp['message_contains']}'";
        }
        if (isset($exp['violations'])) {
            $got = array_map(fn($v) => $v['field'], $e->getFieldViolations());
            $want = $exp['violations'];
            sort($got);
            sort($want);
            if ($got !== $want) {
                return 'violations ' . json_encode($got) . ', expected ' . json_encode($want);
            }
        }
        return null;
    }

    /** Waits `$millis`, or throws CancelledException (`$why`) once the call is cancelled. */
    public static function pause(Context $ctx, int $millis, string $why): void
    {
        $until = microtime(true) + $millis / 1000;
        while (microtime(true) < $until) {
            if ($ctx->isCancelled()) {
                throw new CancelledException($why);
            }
            usleep(1000);
        }
    }

    /** The conformance service (tests/conformance/README.md) with PHP handlers. */
    public static function server(): Server
    {
        $server = new Server(self::schema());
        $echo = fn(array $req, Context $ctx): array => $req;
        $server->method(self::SERVICE . '/Echo', $echo);
        $server->method(self::SERVICE . '/EchoScalars', $echo);
        $server->method(self::SERVICE . '/Fail', function (array $req, Context $ctx): array {
            $violations = array_map(
                fn(string $path) => ['field' => $path, 'description' => 'invalid'],
                $req['violation_paths'],
            );
            $details = ['field_violations' => $violations];
            if ($req['reason'] !== '') {
                $details['error_info'] = ['reason' => $req['reason'], 'domain' => 'conformance.example', 'metadata' => ['case' => $req['reason']]];
            }
            throw Exception::fromStatus(self::codeNumber($req['code']), $req['message'], $details);
        });
        $server->method(self::SERVICE . '/Sleep', function (array $req, Context $ctx): array {
            self::pause($ctx, $req['millis'], 'sleep cancelled');
            return [];
        });
        Semantics::serveOn($server);
        StreamVectors::serveOn($server);
        return $server;
    }

    /** The number of a gRPC code name ('NOT_FOUND' → 5; UNKNOWN for names it does not know). */
    public static function codeNumber(string $name): int
    {
        for ($i = 1; $i <= 16; $i++) {
            if (Exception::classForCode($i)::CODE_NAME === $name) {
                return $i;
            }
        }
        return 2;
    }

    /** Runs every case against `$client`; returns [passed, failures]. */
    public static function runAll(Client $client): array
    {
        $passed = 0;
        $failures = [];
        foreach (self::cases() as $case) {
            $why = self::check($case, $client);
            if ($why === null) {
                $passed++;
            } else {
                $failures[] = "{$case['id']}: $why";
            }
        }
        return [$passed, $failures];
    }
}
