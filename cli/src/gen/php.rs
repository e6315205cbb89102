//! PHP: one file per package (`DemoV1Hms.php`, namespace `Demo\V1`) of final classes with
//! typed promoted properties and docblocks, backed enums, typed clients and service bases over
//! the `hms_ffi` extension.
//!
//! A message is a class built with named arguments (`new HelloRequest(name: 'Ada')`: a
//! misspelt name is an `Error` at once and a static analyser's error before), read from the
//! array the binding gives (`fromArray`) and turned back into one (`toArray`). Values are the
//! binding's (`docs/types.md`): `int` (`int|\GMP` for 64-bit unsigned fields, which go past
//! `PHP_INT_MAX`), `float`, `string` for text and bytes, `\DateTimeInterface` for Timestamps
//! (`HmsFfi\Timestamp` when received), Duration text (`"1.500s"`), arrays for lists, maps and
//! Structs. Enums are backed enums of their names, which the binding takes as they are. A field a
//! built-in converter makes native has its type (`string` for `google.type.Decimal`,
//! `\HmsFfi\Money`, `\DateTimeInterface` for `google.type.Date`), as the extension gives it.
//! Streaming methods are typed over the extension's streams (`php_stream`). A oneof's members
//! stay properties, with `which<Oneof>()` and `<oneof>()` readers typed as unions
//! ([`super::oneof_readers`]).

use super::docs::block;
use super::docs::join;
use super::model::{Field, Message, Package, Service, Shape, Type};
use hms_ffi_core::mapping::Target;
use hms_ffi_core::StreamingKind;

use super::php_stream;
use super::{camel, oneofs, pascal, Output, GENERATED};

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let parts: Vec<String> = p
        .name
        .split('.')
        .filter(|s| !s.is_empty())
        .map(pascal)
        .collect();
    let namespace = if parts.is_empty() {
        "Root".to_string()
    } else {
        parts.join("\\")
    };
    let mut out = String::new();
    line!(out, "<?php");
    line!(out, "// {GENERATED}");
    line!(out, "// source: {}", p.files.join(", "));
    line!(out);
    line!(out, "declare(strict_types=1);");
    line!(out);
    line!(out, "namespace {namespace};");
    for e in &p.enums {
        line!(out);
        out.push_str(&block(
            &join(
                &e.doc,
                &format!(
                    "The enum {}, by value name (how the binding gives enums).",
                    e.full_name
                ),
            ),
            "",
        ));
        line!(out, "enum {}: string", e.name);
        line!(out, "{{");
        for v in &e.values {
            out.push_str(&block(&v.doc, "    "));
            line!(out, "    case {0} = '{0}';", v.name);
        }
        line!(out, "}}");
    }
    for m in &p.messages {
        message(&mut out, m, p);
    }
    for s in &p.services {
        client(&mut out, s);
        service(&mut out, s);
    }
    php_stream::helper(&mut out, p);
    vec![Output {
        path: format!("{}Hms.php", parts.concat()),
        content: out,
    }]
}

/// The PHP type of one value (a declaration type).
pub(crate) fn php_type(t: &Type) -> String {
    match t {
        Type::Float => "float".into(),
        Type::Int32 | Type::UInt32 | Type::Int64 => "int".into(),
        Type::UInt64 => "int|\\GMP".into(),
        Type::Bool => "bool".into(),
        Type::String | Type::Bytes | Type::Duration => "string".into(),
        Type::Enum(n) | Type::Message(n) => n.clone(),
        Type::Timestamp => "\\DateTimeInterface".into(),
        Type::Struct | Type::Empty | Type::ListValue => "array".into(),
        Type::JsonValue => "mixed".into(),
        Type::Wrapper(t) => php_type(t),
    }
}

/// The docblock type of one value (with array shapes).
fn doc_type(t: &Type) -> String {
    match t {
        Type::Struct | Type::Empty => "array<string, mixed>".into(),
        Type::ListValue => "list<mixed>".into(),
        _ => php_type(t),
    }
}

/// The native type the extension's built-in converter gives a field's values
/// (`HmsFfi\Converter::builtins()`; docs/converters.md), if one applies. PHP has no UUID
/// type: a uuid field stays a string.
fn native(f: &Field) -> Option<&'static str> {
    match f.converted.as_ref()? {
        Target::Message(m) if m == "google.type.Decimal" => Some("string"),
        Target::Message(m) if m == "google.type.Money" => Some("\\HmsFfi\\Money"),
        Target::Message(m) if m == "google.type.Date" => Some("\\DateTimeInterface"),
        _ => None,
    }
}

pub(super) fn field_types(f: &Field) -> (String, String) {
    if let Some(t) = native(f) {
        return match &f.shape {
            Shape::Single { .. } => (format!("?{t}"), format!("{t}|null")),
            Shape::Repeated => ("array".into(), format!("list<{t}>")),
            Shape::Map(k) => ("array".into(), format!("array<{}, {t}>", doc_type(k))),
        };
    }
    match &f.shape {
        Shape::Single { presence: true } if !matches!(f.ty, Type::JsonValue) => {
            let t = php_type(&f.ty);
            let decl = if t.contains('|') {
                format!("{t}|null")
            } else {
                format!("?{t}")
            };
            (decl, format!("{}|null", doc_type(&f.ty)))
        }
        Shape::Single { .. } => (php_type(&f.ty), doc_type(&f.ty)),
        Shape::Repeated => ("array".into(), format!("list<{}>", doc_type(&f.ty))),
        Shape::Map(k) => (
            "array".into(),
            format!("array<{}, {}>", doc_type(k), doc_type(&f.ty)),
        ),
    }
}

fn zero(f: &Field, p: &Package) -> String {
    if native(f).is_some() && matches!(f.shape, Shape::Single { .. }) {
        return "null".into();
    }
    match (&f.shape, &f.ty) {
        (Shape::Single { presence: true }, _) | (_, Type::JsonValue) => "null".into(),
        (Shape::Repeated | Shape::Map(_), _) => "[]".into(),
        (_, Type::Float) => "0.0".into(),
        (_, Type::Bool) => "false".into(),
        (_, Type::String | Type::Bytes) => "''".into(),
        (_, Type::Duration) => "'0s'".into(),
        (_, Type::Struct | Type::Empty | Type::ListValue) => "[]".into(),
        (_, Type::Enum(n)) => p
            .enum_zero(n)
            .map_or("null".into(), |v| format!("{n}::{v}")),
        _ => "0".into(),
    }
}

fn read(f: &Field, p: &Package) -> String {
    let v = format!("$a['{}']", f.name);
    let or = format!("{v} ?? {}", zero(f, p));
    if native(f).is_some() {
        return or;
    }
    match (&f.shape, &f.ty) {
        (Shape::Single { .. }, Type::Message(t)) => {
            format!("isset({v}) ? {t}::fromArray({v}) : null")
        }
        (Shape::Single { presence: true }, Type::Enum(t)) => {
            format!("isset({v}) ? {t}::from((string) {v}) : null")
        }
        (Shape::Single { .. }, Type::Enum(t)) => {
            format!("isset({v}) ? {t}::from((string) {v}) : {}", zero(f, p))
        }
        (Shape::Repeated | Shape::Map(_), Type::Message(t)) => {
            format!("array_map(fn (array $v): {t} => {t}::fromArray($v), {or})")
        }
        (Shape::Repeated | Shape::Map(_), Type::Enum(t)) => {
            format!("array_map(fn ($v): {t} => {t}::from((string) $v), {or})")
        }
        _ => or,
    }
}

fn write(f: &Field) -> String {
    let v = format!("$this->{}", f.name);
    if native(f).is_some() {
        return v;
    }
    match (&f.shape, &f.ty) {
        (Shape::Single { .. }, Type::Message(_)) => format!("{v}?->toArray()"),
        (Shape::Single { .. }, Type::Enum(_)) => format!("{v}?->value"),
        (Shape::Repeated | Shape::Map(_), Type::Message(t)) => {
            format!("array_map(fn ({t} $v): array => $v->toArray(), {v})")
        }
        (Shape::Repeated | Shape::Map(_), Type::Enum(t)) => {
            format!("array_map(fn ({t} $v): string => $v->value, {v})")
        }
        _ => v,
    }
}

fn message(out: &mut String, m: &Message, p: &Package) {
    let n = &m.name;
    line!(out);
    out.push_str(&block(
        &join(&m.doc, &format!("The message {}.", m.full_name)),
        "",
    ));
    line!(out, "final class {n}");
    line!(out, "{{");
    let mut params = String::new();
    for f in &m.fields {
        let (decl, doc) = field_types(f);
        let var = if decl == "array" || decl == "mixed" {
            format!("@var {doc}")
        } else {
            String::new()
        };
        let text = join(&f.doc_with_oneof(""), &var);
        params.push_str(&block(&text, "        "));
        line!(
            params,
            "        public {decl} ${} = {},",
            f.name,
            zero(f, p)
        );
    }
    if m.fields.is_empty() {
        line!(out, "    public function __construct() {{}}");
    } else {
        line!(out, "    public function __construct(");
        out.push_str(&params);
        line!(out, "    ) {{}}");
    }
    line!(out);
    line!(out, "    /** A {n} from an array with the fields by name, as the binding gives a reply. @param array<string, mixed> $a */");
    line!(out, "    public static function fromArray(array $a): self");
    line!(out, "    {{");
    let args: Vec<String> = m
        .fields
        .iter()
        .map(|f| format!("            {}: {},", f.name, read(f, p)))
        .collect();
    if args.is_empty() {
        line!(out, "        return new self();");
    } else {
        line!(
            out,
            "        return new self(\n{}\n        );",
            args.join("\n")
        );
    }
    line!(out, "    }}");
    line!(out);
    line!(out, "    /** This message as the array the binding sends (null leaves a field unset). @return array<string, mixed> */");
    line!(out, "    public function toArray(): array");
    line!(out, "    {{");
    let entries: Vec<String> = m
        .fields
        .iter()
        .map(|f| format!("            '{}' => {},", f.name, write(f)))
        .collect();
    if entries.is_empty() {
        line!(out, "        return [];");
    } else {
        line!(out, "        return [\n{}\n        ];", entries.join("\n"));
    }
    line!(out, "    }}");
    for (o, members) in oneofs(m) {
        super::oneof_readers::php(out, o, &members);
    }
    line!(out, "}}");
}

fn client(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!("Typed calls of {} over an \\HmsFfi\\Client; the options (`timeout`, `metadata`)\napply to every call.", s.full_name);
    out.push_str(&block(&join(&s.doc, &doc), ""));
    line!(out, "final class {n}Client");
    line!(out, "{{");
    line!(
        out,
        "    /** @param array{{timeout?: float, metadata?: array<string, string>}} $options */"
    );
    line!(out, "    public function __construct(public readonly \\HmsFfi\\Client $client, private array $options = []) {{}}");
    for m in &s.methods {
        if m.kind != StreamingKind::Unary {
            php_stream::client_method(out, m);
            continue;
        }
        let (Type::Message(req), Type::Message(rep)) = (&m.input, &m.output) else {
            let rep = php_type(&m.output);
            line!(out);
            out.push_str(&block(&m.doc, "    "));
            line!(out, "    /** @param array<string, mixed> $request */");
            line!(
                out,
                "    public function {}(array $request): {rep}",
                camel(&m.name)
            );
            line!(out, "    {{");
            line!(
                out,
                "        return $this->client->call('{}', $request, $this->options);",
                m.path
            );
            line!(out, "    }}");
            continue;
        };
        line!(out);
        out.push_str(&block(&m.doc, "    "));
        line!(
            out,
            "    public function {}({req} $request): {rep}",
            camel(&m.name)
        );
        line!(out, "    {{");
        line!(out, "        return {rep}::fromArray($this->client->call('{}', $request->toArray(), $this->options));", m.path);
        line!(out, "    }}");
    }
    line!(out, "}}");
}

fn service(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!("The server side of {}: extend it, override the methods and call\n`{n}Service::register($server, $impl)`. A method left alone fails with UNIMPLEMENTED.", s.full_name);
    out.push_str(&block(&doc, ""));
    line!(out, "abstract class {n}Service");
    line!(out, "{{");
    line!(
        out,
        "    /** Registers every method of {} with $server, served by $impl. */",
        s.full_name
    );
    line!(
        out,
        "    public static function register(\\HmsFfi\\Server $server, self $impl): void"
    );
    line!(out, "    {{");
    for m in &s.methods {
        if m.kind != StreamingKind::Unary {
            php_stream::register(out, m);
            continue;
        }
        let (arg, back) = match (&m.input, &m.output) {
            (Type::Message(t), Type::Message(_)) => {
                (format!("{t}::fromArray($req)"), "->toArray()")
            }
            _ => ("$req".to_string(), ""),
        };
        line!(out, "        $server->method('{}', fn (array $req, \\HmsFfi\\Context $ctx): mixed => $impl->{}({arg}, $ctx){back});", m.path, camel(&m.name));
    }
    line!(out, "    }}");
    for m in &s.methods {
        let (req, rep) = (php_type(&m.input), php_type(&m.output));
        let (doc, signature) = match m.kind {
            StreamingKind::Unary => (
                String::new(),
                format!(
                    "{}({req} $request, \\HmsFfi\\Context $ctx): {rep}",
                    camel(&m.name)
                ),
            ),
            _ => php_stream::service_method(m),
        };
        line!(out);
        out.push_str(&block(&join(&m.doc, &doc), "    "));
        line!(out, "    public function {signature}");
        line!(out, "    {{");
        line!(
            out,
            "        throw new \\HmsFfi\\UnimplementedException('{} is not implemented');",
            m.path
        );
        line!(out, "    }}");
    }
    line!(out, "}}");
}
