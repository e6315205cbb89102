<?php
// Schema::fromRegistry from PHP (issue 21): a version of a schema named by a registry reference
// (`registry+URI#SUBJECT[@N|@latest|@sha256:…]`), fetched from a registry of the test's own (the
// CLI's `hms-ffi registry serve`, killed at the end) and checked by the core.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\InvalidArgumentException;
use HmsFfi\NotFoundException;
use HmsFfi\Schema;
use HmsFfi\UnavailableException;
use PHPUnit\Framework\TestCase;

final class RegistryTest extends TestCase
{
    private string $dir;
    private string $uri;
    /** @var resource */
    private $proc;

    private static function cli(): string
    {
        $target = getenv('CARGO_TARGET_DIR') ?: dirname(__DIR__, 2) . '/target';
        return $target . '/debug/hms-ffi';
    }

    protected function setUp(): void
    {
        $cli = self::cli();
        $this->assertFileExists($cli, 'cargo build -p hms-ffi-cli first (make test-php does)');
        $this->dir = sys_get_temp_dir() . '/hms-php-registry-' . bin2hex(random_bytes(6));
        mkdir($this->dir);
        $sock = $this->dir . '/r.sock';
        $this->uri = 'unix://' . $sock;
        $cmd = [$cli, 'registry', 'serve', '--db', $this->dir . '/r.db', '--listen', $this->uri];
        $null = ['file', '/dev/null', 'a'];
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => $null, 2 => $null], $pipes);
        $this->assertIsResource($proc);
        $this->proc = $proc;
        $deadline = microtime(true) + 10;
        while (!file_exists($sock)) {
            $this->assertLessThan($deadline, microtime(true), 'hms-ffi registry serve did not start');
            usleep(20000);
        }
        foreach (['shop_v1.proto', 'shop_v2.proto'] as $v) {
            $file = dirname(__DIR__, 2) . '/tests/registry/' . $v;
            $args = array_map('escapeshellarg', [$cli, 'registry', 'register', '--registry', $this->uri, $file]);
            exec('timeout 30 ' . implode(' ', $args) . ' > /dev/null 2>&1', $out, $rc);
            $this->assertSame(0, $rc, "registering $v failed");
        }
    }

    protected function tearDown(): void
    {
        proc_terminate($this->proc, 9);
        proc_close($this->proc);
        array_map('unlink', glob($this->dir . '/*') ?: []);
        rmdir($this->dir);
    }

    /** @return list<string> */
    private static function names(Schema $schema): array
    {
        $names = array_map(fn (array $m): string => $m['name'], $schema->methods());
        sort($names);
        return $names;
    }

    public function testAReferenceNamesAVersionAndErrorsAreTyped(): void
    {
        $v1 = Schema::fromRegistry("registry+{$this->uri}#shop.v1@1");
        $this->assertSame(['shop.v1.Shop/Get'], self::names($v1));
        $latest = Schema::fromRegistry("registry+{$this->uri}#shop.v1", 5.0);
        $this->assertSame(['shop.v1.Shop/Get', 'shop.v1.Shop/List'], self::names($latest));
        try {
            Schema::fromRegistry('shop/v1');
            $this->fail('a bad reference was accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('registry+', $e->getMessage());
        }
        $this->expectException(NotFoundException::class);
        Schema::fromRegistry("registry+{$this->uri}#shop.v1@9");
    }

    public function testAnUnreachableRegistryIsUnavailable(): void
    {
        $this->expectException(UnavailableException::class);
        Schema::fromRegistry('registry+unix:///nonexistent/r.sock#shop.v1', 2.0);
    }
}
