<?php
// The greeter example in PHP: the same service as examples/rust/greeter.rs. Needs the extension:
//
//     php -d extension=target/php/hms_ffi.so examples/php/greeter.php serve unix:///tmp/greeter.sock
//     php -d extension=target/php/hms_ffi.so examples/php/greeter.php call unix:///tmp/greeter.sock Ada
//     php -d extension=target/php/hms_ffi.so examples/php/greeter.php both   # one process, inproc://

declare(strict_types=1);

use HmsFfi\Client;
use HmsFfi\Context;
use HmsFfi\Exception;
use HmsFfi\InvalidArgumentException;
use HmsFfi\UnimplementedException;
use HmsFfi\Schema;
use HmsFfi\Server;

function make_server(): Server
{
    $server = new Server(Schema::load(dirname(__DIR__) . '/protos/greeter.proto'));
    $server->method('demo.v1.Greeter/SayHello', function (array $req, Context $ctx): array {
        if ($req['name'] === '') {
            throw new InvalidArgumentException('name must not be empty', ['field_violations' => ['name' => 'empty']]);
        }
        echo "[php server] {$ctx->method()} from {$ctx->peer()}\n";
        $text = implode(', ', array_fill(0, max(1, $req['times']), "Hello {$req['name']} from PHP"));
        return ['message' => $text, 'at' => new DateTimeImmutable()];
    });
    $server->method('demo.v1.Greeter/Echo', fn(array $req, Context $ctx): array => $req);
    // A server-streaming handler is a Generator: each yield is one reply, sent as the caller
    // reads it.
    $server->method('demo.v1.Greeter/Chatter', function (array $req, Context $ctx): Generator {
        for ($i = 0; $i < max(3, $req['times']); $i++) {
            yield ['message' => "#$i hi {$req['name']} from PHP", 'at' => new DateTimeImmutable()];
        }
    });
    return $server;
}

function call(string $uri, string $name): void
{
    $client = Client::connect($uri);
    echo '[php client] methods: ', implode(', ', array_column($client->methods(), 'name')), "\n";
    $reply = $client->call('demo.v1.Greeter/SayHello', ['name' => $name, 'times' => 2], ['timeout' => 5]);
    echo "[php client] SayHello -> '{$reply['message']}' at ", $reply['at']->format(DATE_RFC3339_EXTENDED), "\n";
    try {
        foreach ($client->stream('demo.v1.Greeter/Chatter', ['name' => $name, 'times' => 2], ['timeout' => 5]) as $item) {
            echo "[php client] Chatter -> '{$item['message']}'\n";
        }
    } catch (UnimplementedException $e) { // a server in a language without streams yet
        echo "[php client] Chatter: {$e->getMessage()}\n";
    }
    try {
        $client->call('demo.v1.Greeter/SayHello', ['name' => 42]);
    } catch (InvalidArgumentException $e) {
        echo "[php client] a wrong type is refused: {$e->getMessage()} ", json_encode($e->getFieldViolations()), "\n";
    }
    try {
        $client->call('demo.v1.Greeter/SayHello', ['name' => '']);
    } catch (Exception $e) {
        $origin = $e->getDetails()['origin']['language'] ?? '?';
        echo '[php client] the handler\'s error comes back typed: ', get_class($e), " {$e->codeName()}: {$e->getMessage()} (from $origin)\n";
    }
}

$mode = $argv[1] ?? 'both';
$uri = $argv[2] ?? 'unix:///tmp/hms-greeter.sock';
switch ($mode) {
    case 'serve':
        $server = make_server();
        $server->listen($uri);
        echo "[php server] listening on $uri; Ctrl-C stops\n";
        $server->serve();
        exit(0);
    case 'call':
        call($uri, $argv[3] ?? 'Ada');
        exit(0);
    case 'both':
        // One process: the client's wait runs the server's handlers on this thread.
        $server = make_server();
        $server->listen('inproc://php-greeter');
        call('inproc://php-greeter', 'Ada');
        $server->shutdown();
        exit(0);
}
fwrite(STDERR, "usage: greeter.php serve|call|both [URI] [NAME]\n");
exit(2);
