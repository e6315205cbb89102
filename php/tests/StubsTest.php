<?php
// The IDE stubs (php/stubs/hms_ffi.stubs.php) match the extension as built.

declare(strict_types=1);

namespace HmsFfi\Tests;

use PHPUnit\Framework\TestCase;

final class StubsTest extends TestCase
{
    public function testStubsAreCurrent(): void
    {
        $cmd = [PHP_BINARY, '-d', 'extension=' . Child::extension(), dirname(__DIR__) . '/scripts/stubs.php', '--check'];
        exec(implode(' ', array_map('escapeshellarg', $cmd)) . ' 2>&1', $out, $rc);
        self::assertSame(0, $rc, implode("\n", $out));
        $stubs = (string) file_get_contents(dirname(__DIR__) . '/stubs/hms_ffi.stubs.php');
        foreach (['class Server', 'class Client', 'class Schema', 'class Context', 'abstract class Exception extends \Exception', 'class NotFoundException extends \HmsFfi\Exception'] as $decl) {
            self::assertStringContainsString($decl, $stubs);
        }
    }

    public function testNativeMethodsCarryTheirRustDocs(): void
    {
        $stubs = (string) file_get_contents(dirname(__DIR__) . '/stubs/hms_ffi.stubs.php');
        // Every public method of the native classes has a doc comment (from php/src/*.rs).
        preg_match_all('~(\*/|\{|\}|;)\n\n?    public (static )?function (\w+)~', $stubs, $m, PREG_SET_ORDER);
        $undocumented = array_filter($m, fn($x) => $x[1] !== '*/' && $x[3] !== '__construct');
        self::assertSame([], array_map(fn($x) => $x[3], array_values($undocumented)));
        self::assertMatchesRegularExpression('~/\*\*\n     \* Calls a unary method.*?@param array<string, mixed> \$request.*?\*/\n    public function call\(~s', $stubs);
        self::assertStringContainsString("/** The method called, `package.Service/Method`. */\n    public function method(): string {}", $stubs);
    }
}
