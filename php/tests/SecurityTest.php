<?php
// Security from PHP: one `security` option gives the server its policy and limits; a handler
// sees the caller's identity and unix credentials; refused calls throw typed exceptions.

declare(strict_types=1);

namespace HmsFfi\Tests;

use HmsFfi\Client;
use HmsFfi\Exception;
use HmsFfi\InvalidArgumentException;
use HmsFfi\PermissionDeniedException;
use HmsFfi\ResourceExhaustedException;
use HmsFfi\Schema;
use HmsFfi\Server;
use PHPUnit\Framework\TestCase;

final class SecurityTest extends TestCase
{
    private const SERVICE = 'hms.conformance.v1.Conformance';

    private string $dir;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/hms-php-sec-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
    }

    protected function tearDown(): void
    {
        array_map('unlink', glob("{$this->dir}/*") ?: []);
        @rmdir($this->dir);
    }

    private function write(string $name, string $text): string
    {
        file_put_contents("{$this->dir}/$name", $text);
        return "{$this->dir}/$name";
    }

    private function schema(): Schema
    {
        return Schema::load(Conformance::root() . '/tests/conformance/conformance.proto');
    }

    private function failure(callable $call): Exception
    {
        try {
            $call();
        } catch (Exception $e) {
            return $e;
        }
        self::fail('expected an HmsFfi\Exception');
    }

    public function testPolicyDeniesAMethodAndTheHandlerSeesIdentityAndPeerCredentials(): void
    {
        $echo = self::SERVICE . '/Echo';
        $scalars = self::SERVICE . '/EchoScalars';
        $security = $this->write('security.toml', <<<TOML
            [limits]
            max_message_bytes = 2048
            [policy]
            [[policy.rule]]
            identities = ["uid:*"]
            deny = ["$echo"]
            TOML);
        $uri = "unix://{$this->dir}/sec.sock";
        $server = Child::php(__DIR__ . '/fixtures/secure_server.php', $uri, $security);
        try {
            self::assertSame(0600, fileperms("{$this->dir}/sec.sock") & 0777);
            // With a policy, discovery lists only what the caller may call; a client given the
            // schema reaches the server, which refuses the denied method.
            $names = array_column(Client::connect($uri)->methods(), 'name');
            self::assertContains($scalars, $names);
            self::assertNotContains($echo, $names);
            $client = Client::connect($uri, $this->schema());
            $seen = json_decode($client->call($scalars, [])['string_v'], true);
            self::assertSame('uid:' . posix_getuid(), $seen['identity']);
            self::assertSame(['uid' => posix_getuid(), 'gid' => posix_getgid(), 'pid' => getmypid()], $seen['peer_credentials']);

            $e = $this->failure(fn() => $client->call($echo, ['tags' => ['no']]));
            self::assertInstanceOf(PermissionDeniedException::class, $e);
            self::assertSame('POLICY_DENIED', $e->getDetails()['error_info']['reason']);
            $e = $this->failure(fn() => $client->call($scalars, ['string_v' => str_repeat('x', 4096)]));
            self::assertInstanceOf(ResourceExhaustedException::class, $e);
            $seen = json_decode($client->call($scalars, [])['string_v'], true);
            self::assertSame(0, $seen['echoed'], 'the denied handler never ran');
        } finally {
            $server->stop();
        }
    }

    public function testABadSecurityFileIsInvalidArgument(): void
    {
        $bad = $this->write('bad.toml', "[policy]\ndefault_network = 'sometimes'\n");
        $e = $this->failure(fn() => new Server($this->schema(), ['security' => $bad]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        $unknown = $this->write('unknown.toml', "[limits]\nmax_mesage_bytes = 10\n");
        $e = $this->failure(fn() => new Server($this->schema(), ['security' => $unknown]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        self::assertSame('BAD_SECURITY_CONFIG', $e->getDetails()['error_info']['reason']);
    }

    public function testOptionsOfTheWrongTypeAreRefusedNotIgnored(): void
    {
        $e = $this->failure(fn() => new Server($this->schema(), ['security' => 42]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        self::assertStringContainsString("'security'", $e->getMessage());
        $e = $this->failure(fn() => new Server($this->schema(), ['max_message_bytes' => '1024']));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
        $e = $this->failure(fn() => new Server($this->schema(), ['max_concurrent_per_connection' => -1]));
        self::assertInstanceOf(InvalidArgumentException::class, $e);
    }
}
