<?php
// Part of the hms_ffi extension: compiled into hms_ffi.so and run when a request starts. The error
// classes and the Timestamp type are plain PHP so that they behave exactly like PHP's own.

declare(strict_types=1);

namespace HmsFfi;

/**
 * Base of every hms-ffi error. getCode() is the gRPC code number, codeName() its name
 * ('NOT_FOUND'), getDetails() the structured details: field_violations (list of
 * ['field' => 'items[2].price', 'description' => …]), error_info (['reason', 'domain',
 * 'metadata'] or null), debug_info (['stack_entries' => list, 'detail' => …] or null) and
 * origin (['language', 'service', 'method'] or null), and headers and trailers (the response
 * metadata of the failed call, getHeaders() and getTrailers()). Throw a subclass from a handler
 * to answer with that code.
 */
abstract class Exception extends \Exception
{
    public const CODE = 2;
    public const CODE_NAME = 'UNKNOWN';

    private const CLASSES = [
        1 => CancelledException::class,
        2 => UnknownException::class,
        3 => InvalidArgumentException::class,
        4 => DeadlineExceededException::class,
        5 => NotFoundException::class,
        6 => AlreadyExistsException::class,
        7 => PermissionDeniedException::class,
        8 => ResourceExhaustedException::class,
        9 => FailedPreconditionException::class,
        10 => AbortedException::class,
        11 => OutOfRangeException::class,
        12 => UnimplementedException::class,
        13 => InternalException::class,
        14 => UnavailableException::class,
        15 => DataLossException::class,
        16 => UnauthenticatedException::class,
    ];

    /** @var array<string, mixed> */
    private array $details;

    /**
     * @param array<string, mixed> $details as getDetails() returns them; field_violations may be
     *                                      given as ['path' => 'description', …] too
     */
    public function __construct(string $message = '', array $details = [], ?\Throwable $previous = null)
    {
        parent::__construct($message, static::CODE, $previous);
        $violations = [];
        foreach ($details['field_violations'] ?? [] as $key => $v) {
            $violations[] = is_array($v)
                ? ['field' => (string) ($v['field'] ?? ''), 'description' => (string) ($v['description'] ?? '')]
                : ['field' => (string) $key, 'description' => (string) $v];
        }
        $this->details = [
            'field_violations' => $violations,
            'error_info' => $details['error_info'] ?? null,
            'debug_info' => $details['debug_info'] ?? null,
            'origin' => $details['origin'] ?? null,
            'other' => $details['other'] ?? [],
            'headers' => $details['headers'] ?? [],
            'trailers' => $details['trailers'] ?? [],
        ];
    }

    /** The gRPC code name, such as 'NOT_FOUND'. */
    public function codeName(): string
    {
        return static::CODE_NAME;
    }

    /** @return array<string, mixed> */
    public function getDetails(): array
    {
        return $this->details;
    }

    /** @return list<array{field: string, description: string}> */
    public function getFieldViolations(): array
    {
        return $this->details['field_violations'];
    }

    /**
     * The response headers the failed call carried (first value of each key).
     *
     * @return array<string, string>
     */
    public function getHeaders(): array
    {
        return $this->details['headers'];
    }

    /**
     * The response trailers the failed call carried (first value of each key).
     *
     * @return array<string, string>
     */
    public function getTrailers(): array
    {
        return $this->details['trailers'];
    }

    /**
     * The exception class for a gRPC code number (UnknownException for numbers outside 1..16).
     *
     * @return class-string<Exception>
     */
    public static function classForCode(int $code): string
    {
        return self::CLASSES[$code] ?? UnknownException::class;
    }

    /**
     * The exception for a status (used by the extension; also handy in tests).
     *
     * @param array<string, mixed> $details
     */
    public static function fromStatus(int $code, string $message, array $details = []): self
    {
        $class = self::classForCode($code);
        return new $class($message, $details);
    }

    /**
     * What the extension reads off an exception thrown by a handler: its class, message and
     * trace, and for an hms-ffi exception its code, message and details. The core decides what
     * they become (any other exception is INTERNAL with its class, message and trace).
     *
     * @internal
     * @return array{class: string, message: string, stack: list<string>, parts: ?array{0: int, 1: string, 2: array<string, mixed>}}
     */
    public static function describe(\Throwable $e): array
    {
        $stack = [sprintf('%s: %s at %s:%d', get_class($e), $e->getMessage(), $e->getFile(), $e->getLine())];
        foreach (explode("\n", $e->getTraceAsString()) as $line) {
            $stack[] = $line;
        }
        return [
            'class' => get_class($e),
            'message' => $e->getMessage(),
            'stack' => $stack,
            'parts' => $e instanceof self ? [$e->getCode(), $e->getMessage(), $e->getDetails()] : null,
        ];
    }
}

/** gRPC code 1 `CANCELLED`. */
class CancelledException extends Exception
{
    public const CODE = 1;
    public const CODE_NAME = 'CANCELLED';
}

/** gRPC code 2 `UNKNOWN`. */
class UnknownException extends Exception
{
    public const CODE = 2;
    public const CODE_NAME = 'UNKNOWN';
}

/** gRPC code 3 `INVALID_ARGUMENT`. */
class InvalidArgumentException extends Exception
{
    public const CODE = 3;
    public const CODE_NAME = 'INVALID_ARGUMENT';
}

/** gRPC code 4 `DEADLINE_EXCEEDED`. */
class DeadlineExceededException extends Exception
{
    public const CODE = 4;
    public const CODE_NAME = 'DEADLINE_EXCEEDED';
}

/** gRPC code 5 `NOT_FOUND`. */
class NotFoundException extends Exception
{
    public const CODE = 5;
    public const CODE_NAME = 'NOT_FOUND';
}

/** gRPC code 6 `ALREADY_EXISTS`. */
class AlreadyExistsException extends Exception
{
    public const CODE = 6;
    public const CODE_NAME = 'ALREADY_EXISTS';
}

/** gRPC code 7 `PERMISSION_DENIED`. */
class PermissionDeniedException extends Exception
{
    public const CODE = 7;
    public const CODE_NAME = 'PERMISSION_DENIED';
}

/** gRPC code 8 `RESOURCE_EXHAUSTED`. */
class ResourceExhaustedException extends Exception
{
    public const CODE = 8;
    public const CODE_NAME = 'RESOURCE_EXHAUSTED';
}

/** gRPC code 9 `FAILED_PRECONDITION`. */
class FailedPreconditionException extends Exception
{
    public const CODE = 9;
    public const CODE_NAME = 'FAILED_PRECONDITION';
}

/** gRPC code 10 `ABORTED`. */
class AbortedException extends Exception
{
    public const CODE = 10;
    public const CODE_NAME = 'ABORTED';
}

/** gRPC code 11 `OUT_OF_RANGE`. */
class OutOfRangeException extends Exception
{
    public const CODE = 11;
    public const CODE_NAME = 'OUT_OF_RANGE';
}

/** gRPC code 12 `UNIMPLEMENTED`. */
class UnimplementedException extends Exception
{
    public const CODE = 12;
    public const CODE_NAME = 'UNIMPLEMENTED';
}

/** gRPC code 13 `INTERNAL`. */
class InternalException extends Exception
{
    public const CODE = 13;
    public const CODE_NAME = 'INTERNAL';
}

/** gRPC code 14 `UNAVAILABLE`. */
class UnavailableException extends Exception
{
    public const CODE = 14;
    public const CODE_NAME = 'UNAVAILABLE';
}

/** gRPC code 15 `DATA_LOSS`. */
class DataLossException extends Exception
{
    public const CODE = 15;
    public const CODE_NAME = 'DATA_LOSS';
}

/** gRPC code 16 `UNAUTHENTICATED`. */
class UnauthenticatedException extends Exception
{
    public const CODE = 16;
    public const CODE_NAME = 'UNAUTHENTICATED';
}

/**
 * Bytes that must travel as bytes: PHP strings are bytes already and a plain string fills a
 * `bytes` field as is, but where any value goes (google.protobuf.Value, Struct) a string that is
 * valid UTF-8 is text. Replies give bytes back as plain strings.
 */
final class Bytes
{
    public function __construct(public readonly string $data)
    {
    }
}

/**
 * A google.protobuf.Timestamp: a DateTimeImmutable (UTC) that also keeps the nanoseconds below the
 * microsecond. Any DateTimeInterface is accepted where a Timestamp is expected.
 */
final class Timestamp extends \DateTimeImmutable
{
    private int $subMicros = 0;

    /** The time `$seconds` after the Unix epoch plus `$nanos` (0..999999999) nanoseconds. */
    public static function fromUnix(int $seconds, int $nanos = 0): self
    {
        $t = self::createFromFormat('U.u', sprintf('%d.%06d', $seconds, intdiv($nanos, 1000)), new \DateTimeZone('UTC'));
        if (!$t instanceof self) {
            throw new OutOfRangeException("timestamp {$seconds}s {$nanos}ns cannot be represented");
        }
        $t->subMicros = $nanos % 1000;
        return $t;
    }

    /**
     * Seconds since the epoch and nanoseconds (0..999999999) of any DateTimeInterface.
     *
     * @return array{0: int, 1: int}
     */
    public static function unixParts(\DateTimeInterface $t): array
    {
        $extra = $t instanceof self ? $t->subMicros : 0;
        return [(int) $t->format('U'), (int) $t->format('u') * 1000 + $extra];
    }

    /** Nanoseconds within the second (0..999999999). */
    public function getNanos(): int
    {
        return self::unixParts($this)[1];
    }
}
