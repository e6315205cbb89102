<?php
// The oneof and the three stream kinds of hms.conformance.v1.Conformance, typed by
// `hms-ffi gen --lang php`. Each case of the oneof `choice` (one member set, or none) read from
// the array the extension gives (every member, the unset ones null) reads back with
// `whichChoice()` (`'text'|'number'|'item'|null` in its docblock) and `choice()` (typed
// `string|int|Item|null`), and `toArray()` gives the same wire form back. With `call URI`, the
// generated client then calls the typed Python servicer of examples/typed/python/
// streams_typed.py (`serve URI`) — a server stream and a bidirectional one read as Generators,
// a client stream sent from an array — since PHP's `serve()` holds the one PHP thread, so a PHP
// client cannot call a PHP server in its own process.
//
//   php -d extension=target/php/hms_ffi.so examples/typed/php/streams_typed.php [call URI]
//
// `make test-gen` (scripts/check-typed.sh) runs it when the extension is built.
declare(strict_types=1);

require __DIR__ . '/../../../gen/php/HmsConformanceV1Hms.php';

use Hms\Conformance\V1\AllTypes;
use Hms\Conformance\V1\ConformanceClient;
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

if (($argv[1] ?? '') !== 'call' || !isset($argv[2])) {
    exit(0);
}
$client = new ConformanceClient(\HmsFfi\Client::connect($argv[2]), ['timeout' => 10.0]);
$numbered = [];
foreach ($client->serverStream(new AllTypes(tags: ['a', 'b', 'c'])) as $r) {
    $numbered[] = [$r->tags, $r->whichChoice(), $r->choice()];
}
ok('server streaming', $numbered, [[['a'], 'number', 0], [['b'], 'number', 1], [['c'], 'number', 2]]);
$orders = [
    new AllTypes(items: [new Item(name: 'tea', price: 2.5, qty: 2)]),
    new AllTypes(items: [new Item(name: 'cake', price: 4.0, qty: 1)]),
];
$total = $client->clientStream($orders);
$counts = $total->counts;
ksort($counts); // a protobuf map has no order
ok('client streaming', [array_map(fn (Item $i): string => $i->name, $total->items), $counts], [['tea', 'cake'], ['cake' => 1, 'tea' => 2]]);
$said = [new AllTypes(text: 'hi', numbers: [1, 2]), new AllTypes(number: 3, numbers: [40, 2])];
$answers = [];
foreach ($client->bidi($said) as $r) {
    $answers[] = [$r->whichChoice(), $r->choice(), $r->wrapped_int];
}
ok('bidi streaming', $answers, [['text', 'HI', 3], [null, null, 42]]);
