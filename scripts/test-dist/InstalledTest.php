<?php
// What a user of the unpacked PHP extension sees (run by scripts/test-dist/php.sh with PHPUnit,
// the extension loaded from the tarball with -d extension=, against the Rust greeter server at
// $HMS_GREETER).
declare(strict_types=1);

use HmsFfi\Client;
use HmsFfi\InvalidArgumentException;
use HmsFfi\UnimplementedException;
use PHPUnit\Framework\TestCase;

final class InstalledTest extends TestCase
{
    public function testTheExtensionIsTheUnpackedOne(): void
    {
        $this->assertTrue(extension_loaded('hms_ffi'));
        $this->assertSame(getenv('HMS_VERSION'), phpversion('hms_ffi'));
    }

    public function testACallAndAStreamToTheRustServer(): void
    {
        $client = Client::connect(getenv('HMS_GREETER'));
        $reply = $client->call('demo.v1.Greeter/SayHello', ['name' => 'Ada', 'times' => 2], ['timeout' => 10]);
        $this->assertStringStartsWith('Hello Ada', $reply['message']);
        $replies = iterator_to_array($client->stream('demo.v1.Greeter/Chatter', ['name' => 'Ada', 'times' => 3], ['timeout' => 10]), false);
        $this->assertCount(3, $replies);
    }

    public function testErrorsKeepTheirType(): void
    {
        $client = Client::connect(getenv('HMS_GREETER'));
        try {
            $client->call('demo.v1.Greeter/SayHello', ['name' => ''], ['timeout' => 10]);
            $this->fail('an empty name was accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('must not be empty', $e->getMessage());
        }
        $this->expectException(UnimplementedException::class);
        $client->call('demo.v1.Greeter/Nope', [], ['timeout' => 10]);
    }
}
