<?php
// Writes php/stubs/hms_ffi.stubs.php (IDE stubs) from the loaded hms_ffi extension by Reflection:
// the native classes and the PHP half it declares at request start. Native classes and methods
// carry no doc comments at run time, so theirs are read from the `///` comments of the Rust
// sources (php/src/*.rs). With --check, fails when the file differs from what it would write.
//
//     php -d extension=target/php/hms_ffi.so php/scripts/stubs.php [--check]

declare(strict_types=1);

if (!extension_loaded('hms_ffi')) {
    fwrite(STDERR, "stubs.php: the hms_ffi extension is not loaded\n");
    exit(2);
}

function type_text(?ReflectionType $t): string
{
    if ($t === null) {
        return '';
    }
    if ($t instanceof ReflectionNamedType) {
        $name = $t->getName();
        $name = $t->isBuiltin() || $name === 'static' || $name === 'self' ? $name : '\\' . $name;
        return ($t->allowsNull() && $name !== 'mixed' && $name !== 'null' ? '?' : '') . $name;
    }
    $sep = $t instanceof ReflectionUnionType ? '|' : '&';
    return implode($sep, array_map('type_text', $t->getTypes()));
}

function param_text(ReflectionParameter $p): string
{
    $out = trim(type_text($p->getType()) . ' ') . ($p->isPassedByReference() ? ' &' : ' ') . '$' . $p->getName();
    $out = ltrim($out);
    if ($p->isDefaultValueAvailable()) {
        $out .= ' = ' . ($p->isDefaultValueConstant() ? '\\' . $p->getDefaultValueConstantName() : var_export($p->getDefaultValue(), true));
    } elseif ($p->isOptional() && !$p->isVariadic()) {
        $out .= ' = null';
    }
    return str_replace(["NULL", "array (\n)"], ['null', '[]'], $out);
}

function doc(string|false $doc, string $indent): string
{
    if ($doc === false) {
        return '';
    }
    $lines = array_map('trim', explode("\n", $doc));
    $lines = array_map(fn($l) => str_starts_with($l, '*') ? ' ' . $l : $l, $lines);
    return $indent . implode("\n" . $indent, $lines) . "\n";
}

/**
 * The `///` docs of the native classes and methods in php/src/*.rs, as doc comments:
 * ['HmsFfi\\Client' => ['' => class doc, 'connect' => method doc, …], …]. A `#[php_class]`'s
 * PHP name is its `#[php(name = "…")]`; methods are named in camelCase as ext-php-rs does.
 */
function rust_docs(string $dir): array
{
    $out = [];
    foreach (glob("$dir/*.rs") as $file) {
        $rust = [];
        $block = [];
        $pending = null;
        $impl = null;
        foreach (file($file, FILE_IGNORE_NEW_LINES) as $line) {
            $t = trim($line);
            if (str_starts_with($t, '///')) {
                $block[] = rtrim(substr($t, 4) === false ? '' : substr($t, 4));
                continue;
            }
            if (preg_match('/^#\[php\(name = "(.+)"\)\]$/', $t, $m)) {
                $pending = stripslashes($m[1]);
                continue;
            }
            if (str_starts_with($t, '#[')) {
                continue;
            }
            if (preg_match('/^pub struct (\w+)/', $t, $m) && $pending !== null) {
                $rust[$m[1]] = $pending;
                $out[$pending][''] = comment($block);
                $pending = null;
            } elseif (preg_match('/^impl (\w+) \{/', $t, $m)) {
                $impl = $rust[$m[1]] ?? null;
            } elseif ($impl !== null && preg_match('/^pub fn (\w+)\(/', $t, $m)) {
                $name = lcfirst(str_replace('_', '', ucwords($m[1], '_')));
                $out[$impl][str_starts_with($m[1], '__') ? $m[1] : $name] = comment($block);
            } elseif ($line === '}') {
                $impl = null;
            }
            $block = [];
        }
    }
    return $out;
}

/** `///` lines as a PHP doc comment, or false when there are none. */
function comment(array $lines): string|false
{
    if ($lines === []) {
        return false;
    }
    if (count($lines) === 1) {
        return '/** ' . $lines[0] . ' */';
    }
    return "/**\n" . implode("\n", array_map(fn($l) => rtrim(' * ' . $l), $lines)) . "\n */";
}

function class_text(ReflectionClass $c, array $native): string
{
    $docs = $native[$c->getName()] ?? [];
    $out = doc($c->getDocComment() ?: ($docs[''] ?? false), '');
    $mods = ($c->isFinal() ? 'final ' : '') . ($c->isAbstract() ? 'abstract ' : '');
    $out .= $mods . 'class ' . $c->getShortName();
    if ($parent = $c->getParentClass()) {
        $out .= ' extends \\' . $parent->getName();
    }
    $own = array_filter($c->getInterfaceNames(), fn($i) => !$c->getParentClass() || !in_array($i, $c->getParentClass()->getInterfaceNames(), true));
    $own = array_filter($own, fn($i) => !in_array($i, ['Stringable'], true));
    if ($own) {
        $out .= ' implements ' . implode(', ', array_map(fn($i) => '\\' . $i, $own));
    }
    $out .= "\n{\n";
    $body = [];
    foreach ($c->getReflectionConstants() as $k) {
        if ($k->getDeclaringClass()->getName() !== $c->getName() || $k->isPrivate()) {
            continue;
        }
        $body[] = doc($k->getDocComment(), '    ') . '    ' . ($k->isProtected() ? 'protected' : 'public')
            . ' const ' . $k->getName() . ' = ' . var_export($k->getValue(), true) . ';';
    }
    foreach ($c->getProperties() as $p) {
        if ($p->getDeclaringClass()->getName() !== $c->getName() || $p->isPrivate() || $p->isPromoted()) {
            continue;
        }
        $body[] = '    public ' . ($p->isReadOnly() ? 'readonly ' : '') . trim(type_text($p->getType()) . ' $' . $p->getName()) . ';';
    }
    foreach ($c->getMethods() as $m) {
        if ($m->getDeclaringClass()->getName() !== $c->getName() || $m->isPrivate()) {
            continue;
        }
        $params = array_map(function (ReflectionParameter $p) {
            $text = param_text($p);
            return $p->isPromoted() ? 'public ' . (($p->getDeclaringClass()?->getProperty($p->getName())->isReadOnly()) ? 'readonly ' : '') . $text : $text;
        }, $m->getParameters());
        $ret = $m->hasReturnType() ? ': ' . type_text($m->getReturnType()) : '';
        $mods = ($m->isAbstract() ? 'abstract ' : '') . ($m->isFinal() ? 'final ' : '')
            . ($m->isProtected() ? 'protected ' : 'public ') . ($m->isStatic() ? 'static ' : '');
        $body[] = doc($m->getDocComment() ?: ($docs[$m->getName()] ?? false), '    ') . '    ' . $mods . 'function ' . $m->getName()
            . '(' . implode(', ', $params) . ')' . $ret . ($m->isAbstract() ? ';' : ' {}');
    }
    return $out . implode("\n\n", $body) . ($body ? "\n" : '') . "}\n";
}

$names = array_merge(
    (new ReflectionExtension('hms_ffi'))->getClassNames(),
    array_filter(get_declared_classes(), fn($n) => str_starts_with($n, 'HmsFfi\\')),
);
$names = array_values(array_unique($names));
sort($names);
$text = "<?php\n\n// Stubs for the hms_ffi extension, for IDEs and static analysis. Generated by\n"
    . "// php/scripts/stubs.php (`make php-stubs`); do not edit.\n\nnamespace HmsFfi;\n";
$native = rust_docs(dirname(__DIR__) . '/src');
foreach ($names as $name) {
    $text .= "\n" . class_text(new ReflectionClass($name), $native);
}

$file = dirname(__DIR__) . '/stubs/hms_ffi.stubs.php';
if (in_array('--check', $argv, true)) {
    if (!is_file($file) || file_get_contents($file) !== $text) {
        fwrite(STDERR, "$file is not current: run `make php-stubs`\n");
        exit(1);
    }
    echo "stubs are current\n";
    exit(0);
}
file_put_contents($file, $text);
echo "wrote $file\n";
