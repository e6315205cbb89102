<?php
// The oneof `choice` of hms.conformance.v1.AllTypes, typed by `hms-ffi gen --lang php`: each case
// (one member set, or none) read from the array the extension gives (every member, the unset ones
// null) reads back with `whichChoice()` (`'text'|'number'|'item'|null` in its docblock) and
// `choice()` (typed `string|int|Item|null`), and `toArray()` gives the same wire form back.
// (PHP's `serve()` runs on the one PHP thread, so this example converts without a server; the
// typed client and server of PHP are run by greeter_typed.php.)
//
//   php -d extension=target/php/hms_ffi.so examples/typed/php/oneof_typed.php   # non-zero on a failure
//
// `make test-gen` (scripts/check-typed.sh) runs it when the extension is built.
declare(strict_types=1);

require __DIR__ . '/../../../gen/php/HmsConformanceV1Hms.php';

use Hms\Conformance\V1\AllTypes;
use Hms\Conformance\V1\Item;

function ok(string $what, mixed $got, mixed $want): void
{
    // var_export compares strictly (0 is not null) and objects by their properties.
    if (var_export($got, true) !== var_export($want, true)) {
        fwrite(STDERR, "$what: got " . var_export($got, true) . ', want ' . var_export($want, true) . "\n");
        exit(1);
    }
    echo "$what: ok\n";
}

$unset = ['text' => null, 'number' => null, 'item' => null];
$tea = ['name' => 'tea', 'price' => 0.0, 'qty' => 0];
$cases = [
    ['text', ['text' => 'hi'], 'hi'],
    ['number', ['number' => 0], 0],
    ['item', ['item' => $tea], new Item(name: 'tea')],
    [null, [], null],
];
foreach ($cases as [$which, $set, $value]) {
    $m = AllTypes::fromArray(array_merge($unset, $set));
    ok('oneof, ' . ($which ?? 'none'), [$m->whichChoice(), $m->choice()], [$which, $value]);
    $wire = array_intersect_key($m->toArray(), $unset);
    ok('oneof, ' . ($which ?? 'none') . ', toArray', $wire, array_merge($unset, $set));
}
