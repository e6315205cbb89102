<?php
// A typed PHP client and server of demo.v1.Greeter, from `hms-ffi gen --lang php`.
//
//   php -d extension=target/php/hms_ffi.so examples/typed/php/greeter_typed.php serve unix:///tmp/g.sock
//   php -d extension=target/php/hms_ffi.so examples/typed/php/greeter_typed.php call unix:///tmp/g.sock
//   php -d extension=target/php/hms_ffi.so examples/typed/php/greeter_typed.php both
//
// `make test-gen` lints it with `php -l` and runs it against every language's typed server, the
// server-streaming Chatter included.
declare(strict_types=1);

require __DIR__ . '/../../../gen/php/DemoV1Hms.php';

use Demo\V1\GreeterClient;
use Demo\V1\GreeterService;
use Demo\V1\HelloReply;
use Demo\V1\HelloRequest;

final class Greeter extends GreeterService
{
    public function sayHello(HelloRequest $request, \HmsFfi\Context $ctx): HelloReply
    {
        return new HelloReply(message: "Hello {$request->name} from PHP");
    }

    public function chatter(HelloRequest $request, \HmsFfi\Context $ctx): \Generator
    {
        for ($i = 0; $i < $request->times; $i++) {
            yield new HelloReply(message: "#{$i} hi {$request->name}");
        }
    }
}

function newServer(): \HmsFfi\Server
{
    $server = new \HmsFfi\Server(\HmsFfi\Schema::load('examples/protos/greeter.proto'));
    GreeterService::register($server, new Greeter());
    return $server;
}

function call(string $uri): void
{
    $greeter = new GreeterClient(\HmsFfi\Client::connect($uri), ['timeout' => 5.0]);
    echo $greeter->sayHello(new HelloRequest(name: 'Ada'))->message, "\n";
    try {
        foreach ($greeter->chatter(new HelloRequest(name: 'Ada', times: 2)) as $reply) {
            echo $reply->message, "\n";
        }
    } catch (\HmsFfi\UnimplementedException $e) {
        echo "(Chatter: {$e->getMessage()})\n";
    }
}

$mode = $argv[1] ?? 'both';
if ($mode === 'serve') {
    $server = newServer();
    echo $server->listen($argv[2]), "\n";
    $server->serve();
} elseif ($mode === 'call') {
    call($argv[2]);
} else {
    $server = newServer();
    $server->listen('inproc://typed-greeter-php');
    call('inproc://typed-greeter-php');
}
