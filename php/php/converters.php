<?php
// Part of the hms_ffi extension: compiled into hms_ffi.so and run when a request starts, after
// hms_ffi.php. Converters for custom domain types (docs/converters.md): the core decides where
// one applies; these classes only hold the two functions, and the built-ins.

declare(strict_types=1);

namespace HmsFfi;

/**
 * A converter between a protobuf message type (`message: 'google.type.Decimal'`, by full name)
 * or the `string` fields declared with a format (`format: 'uuid'`, `[(hms.ffi.v1.format) =
 * "uuid"]`) and a PHP type of your own, applied by the core on requests and replies, on the
 * caller's side and the handler's, at any depth, in repeated fields and map values.
 * `toMessage` gets each value to send at such a place (not null) and returns the message's array
 * (the field's text, for a format); `fromMessage` gets the message's array (the text) received
 * and returns the PHP value. One that throws is InvalidArgumentException with the value's path
 * in getFieldViolations() (InternalException for a handler's reply). A later converter for the
 * same target replaces an earlier one. Converters should be pure: one may be called again for a
 * value when the core re-walks a message to locate an error.
 */
final class Converter
{
    public readonly \Closure $toMessage;
    public readonly \Closure $fromMessage;

    public function __construct(
        callable $toMessage,
        callable $fromMessage,
        public readonly ?string $message = null,
        public readonly ?string $format = null,
    ) {
        if (($message === null) === ($format === null)) {
            throw new InvalidArgumentException('a Converter targets one message type or one format');
        }
        $this->toMessage = \Closure::fromCallable($toMessage);
        $this->fromMessage = \Closure::fromCallable($fromMessage);
    }

    /** How errors name it: the message type, or `format uuid`. */
    public function target(): string
    {
        return $this->message ?? "format {$this->format}";
    }

    /**
     * The built-ins, on by default in Client::connect() and new Server(): google.type.Decimal
     * as a numeric string, google.type.Money as Money, google.type.Date as a DateTimeImmutable
     * (midnight UTC). PHP has no UUID type: uuid fields stay their text.
     *
     * @return list<Converter>
     */
    public static function builtins(): array
    {
        return [Builtins::decimal(), Builtins::money(), Builtins::date()];
    }

    /**
     * The converters as the extension takes them: [kind, name, toMessage, fromMessage, target].
     *
     * @internal
     * @param mixed $list
     * @return list<array{0: string, 1: string, 2: \Closure, 3: \Closure, 4: string}>
     */
    public static function native(mixed $list): array
    {
        if (!is_array($list) || !array_is_list($list)) {
            throw new InvalidArgumentException("'converters' must be a list of HmsFfi\\Converter");
        }
        $out = [];
        foreach ($list as $c) {
            if (!$c instanceof self) {
                throw new InvalidArgumentException("'converters' must be a list of HmsFfi\\Converter, not " . get_debug_type($c));
            }
            $kind = $c->message !== null ? ['message', $c->message] : ['format', (string) $c->format];
            $out[] = [$kind[0], $kind[1], $c->toMessage, $c->fromMessage, $c->target()];
        }
        return $out;
    }
}

/**
 * A google.type.Money: the amount as one exact decimal string (up to nine decimal places, as
 * the message holds nanos) and its ISO 4217 currency code.
 */
final class Money
{
    public function __construct(public readonly string $amount, public readonly string $currency)
    {
    }
}

/**
 * The built-in converters (Converter::builtins() lists them).
 *
 * @internal
 */
final class Builtins
{
    private const DECIMAL = '/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/';

    /** google.type.Decimal ⇄ a numeric string ('1.50'); an int is taken, a float refused. */
    public static function decimal(): Converter
    {
        return new Converter(
            message: 'google.type.Decimal',
            toMessage: static function (mixed $v): array {
                if (is_array($v)) {
                    return $v;
                }
                if (is_int($v)) {
                    return ['value' => (string) $v];
                }
                if (!is_string($v)) {
                    throw new \TypeError('expected a decimal string, got ' . get_debug_type($v));
                }
                if (preg_match(self::DECIMAL, $v) !== 1) {
                    throw new \ValueError("'{$v}' is not a decimal number");
                }
                return ['value' => $v];
            },
            fromMessage: static fn (array $m): string => ($m['value'] ?? '') === '' ? '0' : (string) $m['value'],
        );
    }

    /** google.type.Money ⇄ Money. */
    public static function money(): Converter
    {
        return new Converter(
            message: 'google.type.Money',
            toMessage: static function (mixed $v): array {
                if (is_array($v)) {
                    return $v;
                }
                if (!$v instanceof Money) {
                    throw new \TypeError('expected HmsFfi\Money, got ' . get_debug_type($v));
                }
                if (preg_match('/^([+-]?)(\d+)(?:\.(\d*))?$/', $v->amount, $p) !== 1) {
                    throw new \ValueError("'{$v->amount}' is not a decimal amount");
                }
                $fraction = rtrim($p[3] ?? '', '0');
                if (strlen($fraction) > 9) {
                    throw new \ValueError("{$v->amount} has more than nine decimal places");
                }
                $units = filter_var($p[1] . $p[2], FILTER_VALIDATE_INT);
                if ($units === false) {
                    throw new \ValueError("{$v->amount} is out of range");
                }
                $nanos = (int) str_pad($fraction, 9, '0');
                $sign = $p[1] === '-' ? -1 : 1;
                return ['currency_code' => $v->currency, 'units' => $units, 'nanos' => $sign * $nanos];
            },
            fromMessage: static function (array $m): Money {
                $units = (string) ($m['units'] ?? 0);
                $nanos = (int) ($m['nanos'] ?? 0);
                $negative = str_starts_with($units, '-') || $nanos < 0;
                $amount = ltrim($units, '-');
                if ($nanos !== 0) {
                    $amount .= '.' . rtrim(sprintf('%09d', abs($nanos)), '0');
                }
                return new Money(($negative ? '-' : '') . $amount, (string) ($m['currency_code'] ?? ''));
            },
        );
    }

    /**
     * google.type.Date ⇄ DateTimeImmutable at midnight UTC (any DateTimeInterface is sent as its
     * calendar date in its own time zone); partial dates are refused.
     */
    public static function date(): Converter
    {
        return new Converter(
            message: 'google.type.Date',
            toMessage: static function (mixed $v): array {
                if (is_array($v)) {
                    return $v;
                }
                if (!$v instanceof \DateTimeInterface) {
                    throw new \TypeError('expected a DateTimeInterface, got ' . get_debug_type($v));
                }
                return ['year' => (int) $v->format('Y'), 'month' => (int) $v->format('n'), 'day' => (int) $v->format('j')];
            },
            fromMessage: static function (array $m): \DateTimeImmutable {
                [$y, $mo, $d] = [(int) ($m['year'] ?? 0), (int) ($m['month'] ?? 0), (int) ($m['day'] ?? 0)];
                if ($y < 1 || !checkdate($mo, $d, $y)) {
                    throw new \ValueError("{$y}-{$mo}-{$d} is not a full date");
                }
                return new \DateTimeImmutable(sprintf('%04d-%02d-%02d', $y, $mo, $d), new \DateTimeZone('UTC'));
            },
        );
    }
}
