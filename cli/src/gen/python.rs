//! Python: one module per package (`demo_v1_hms.py`) of `TypedDict`s, enums, typed clients and
//! servicer bases over the `hms_ffi` package.
//!
//! Why `TypedDict`s and not classes: the binding hands handlers and callers plain `dict`s and
//! accepts any mapping (`docs/types.md`), so a `TypedDict` types exactly what travels, costs
//! nothing at run time and converts nothing. Each message has two: `HelloReply` is a message as
//! received (every field present, fields with presence `Optional`, Timestamps `datetime`,
//! enums their names), and `HelloReplyArgs` what may be sent (any subset, `enum.Enum` members
//! or numbers for enums, RFC 3339 text for Timestamps, …). A client method takes the request as
//! a dict or as keyword arguments (`say_hello(name="Ada")`, PEP 692); its options (`timeout`,
//! `metadata`) belong to the client object, so no field name can clash with them.
//!
//! A field a built-in converter makes native (`hms_ffi.BUILTINS`: `google.type.Decimal`,
//! `Money`, `Date`, and `string` fields declared `[(hms.ffi.v1.format) = "uuid"]`) is typed
//! with the native type (`decimal.Decimal`, `hms_ffi.Money`, `datetime.date`, `uuid.UUID`);
//! sent, its dict form (or text) is accepted too. The types assume a client and server with the
//! built-ins on, as they are by default.
//!
//! A oneof's members stay keys (as the binding gives them), with a `which_<message>_<oneof>`
//! reader typed as a `Literal` of their names ([`super::oneof_readers`]); the module imports
//! only what its code uses, as pyright's strict mode asks.

use hms_ffi_core::mapping::Target;

use super::docs::{self, join};
use super::model::{Enum, Field, Message, Package, Shape, Type};
use super::{oneofs, python_service, Output, GENERATED};

/// Python's keywords: a message with a field of one of these names uses the functional
/// `TypedDict` form.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let mut out = String::new();
    line!(out, "# {GENERATED}");
    line!(out, "# source: {}", p.files.join(", "));
    line!(
        out,
        "\"\"\"Typed hms-ffi bindings of the protobuf package ``{}``.\"\"\"",
        p.name
    );
    line!(out);
    line!(out, "from __future__ import annotations");
    line!(out);
    let header = out;
    let mut out = String::new();
    line!(out);
    line!(out);
    line!(out, "class ProtobufEmpty(TypedDict):");
    line!(
        out,
        "    \"\"\"``google.protobuf.Empty`` as received: ``{{}}``.\"\"\""
    );
    line!(out);
    line!(out);
    line!(out, "def _request(request: Optional[Mapping[str, Any]], fields: Mapping[str, Any]) -> Dict[str, Any]:");
    line!(out, "    return {{**(request or {{}}), **fields}}");
    for e in &p.enums {
        enumeration(&mut out, e);
    }
    for m in &p.messages {
        message(&mut out, m, false);
        message(&mut out, m, true);
        for (o, members) in oneofs(m) {
            super::oneof_readers::python(&mut out, m, o, &members);
        }
    }
    for s in &p.services {
        python_service::client(&mut out, s);
        python_service::servicer(&mut out, s, false);
        python_service::servicer(&mut out, s, true);
        python_service::register(&mut out, s);
    }
    vec![Output {
        path: format!("{}_hms.py", p.snake()),
        content: header + &imports(&out) + &out,
    }]
}

/// The imports of a module whose code (after them) is `body`: only what it uses, as pyright's
/// strict mode asks (`enum` for `enum.Enum`, `Literal` for `Literal[…]`).
fn imports(body: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // `name` as a word of the code, followed by a character that `then` accepts.
    let uses = |name: &str, then: &dyn Fn(Option<char>) -> bool| {
        body.match_indices(name).any(|(i, _)| {
            !word(body[..i].chars().next_back()) && then(body[i + name.len()..].chars().next())
        })
    };
    let mut out = String::new();
    for m in ["datetime", "decimal", "enum", "uuid"] {
        if uses(&format!("{m}."), &|c| c.is_some_and(char::is_alphabetic)) {
            line!(out, "import {m}");
        }
    }
    let unpack = uses("Unpack", &|c| !word(c));
    let typing: Vec<&str> = [
        "TYPE_CHECKING",
        "Any",
        "AsyncIterable",
        "AsyncIterator",
        "Dict",
        "Iterable",
        "Iterator",
        "List",
        "Literal",
        "Mapping",
        "Optional",
        "Sequence",
        "TypedDict",
        "Union",
        "cast",
    ]
    .into_iter()
    .filter(|n| {
        if *n == "TYPE_CHECKING" {
            unpack
        } else {
            uses(n, &|c| !word(c))
        }
    })
    .collect();
    line!(out, "from typing import {}", typing.join(", "));
    line!(out);
    line!(out, "import hms_ffi");
    if unpack {
        line!(out);
        line!(out, "if TYPE_CHECKING:");
        line!(out, "    from typing_extensions import Unpack");
    }
    out
}

pub(super) fn docstring(out: &mut String, doc: &str, indent: &str) {
    if doc.is_empty() {
        return;
    }
    let doc = doc.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    if doc.contains('\n') {
        line!(out, "{indent}\"\"\"{}", doc.lines().next().unwrap_or(""));
        for l in doc.lines().skip(1) {
            line!(out, "{indent}{l}");
        }
        line!(out, "{indent}\"\"\"");
    } else {
        line!(out, "{indent}\"\"\"{doc}\"\"\"");
    }
}

fn enumeration(out: &mut String, e: &Enum) {
    line!(out);
    line!(out);
    line!(out, "class {}(enum.Enum):", e.name);
    docstring(out, &e.doc, "    ");
    for v in &e.values {
        out.push_str(&docs::lines(&v.doc, "    ", "#: "));
        line!(out, "    {} = {}", v.name, v.number);
    }
    line!(out);
    line!(out);
    let names: Vec<String> = e.values.iter().map(|v| format!("\"{}\"", v.name)).collect();
    line!(out, "{}Name = Literal[{}]", e.name, names.join(", "));
    line!(
        out,
        "\"\"\"The names of :class:`{}`: how the binding gives its values.\"\"\"",
        e.name
    );
}

/// A type as received from the binding.
pub(super) fn received(t: &Type) -> String {
    match t {
        Type::Float => "float".into(),
        Type::Int32 | Type::UInt32 | Type::Int64 | Type::UInt64 => "int".into(),
        Type::Bool => "bool".into(),
        Type::String => "str".into(),
        Type::Bytes => "bytes".into(),
        Type::Enum(n) => format!("{n}Name"),
        Type::Message(n) => n.clone(),
        Type::Timestamp => "datetime.datetime".into(),
        Type::Duration => "datetime.timedelta".into(),
        Type::Struct => "Dict[str, Any]".into(),
        Type::Empty => "ProtobufEmpty".into(),
        Type::JsonValue => "Any".into(),
        Type::ListValue => "List[Any]".into(),
        Type::Wrapper(t) => received(t),
    }
}

/// A type as the binding accepts it.
pub(super) fn sent(t: &Type) -> String {
    match t {
        Type::Enum(n) => format!("Union[{n}, {n}Name, int]"),
        Type::Message(n) => format!("{n}Args"),
        Type::Timestamp => "Union[datetime.datetime, str]".into(),
        Type::Duration => "Union[datetime.timedelta, str]".into(),
        Type::Struct | Type::Empty => "Mapping[str, Any]".into(),
        Type::ListValue => "Sequence[Any]".into(),
        Type::Wrapper(t) => sent(t),
        _ => received(t),
    }
}

/// The native type a built-in converter gives a field's values (`hms_ffi.BUILTINS`), as
/// received and as sent (the message's dict form, or text for a format, is still accepted).
fn native(t: &Target, ty: &Type, args: bool) -> String {
    let received = match t {
        Target::Message(m) if m == "google.type.Decimal" => "decimal.Decimal",
        Target::Message(m) if m == "google.type.Money" => "hms_ffi.Money",
        Target::Message(m) if m == "google.type.Date" => "datetime.date",
        Target::Format(f) if f == "uuid" => "uuid.UUID",
        _ => return if args { sent(ty) } else { received(ty) },
    };
    match (args, t) {
        (false, _) => received.to_string(),
        (true, Target::Format(_)) => format!("Union[{received}, str]"),
        (true, Target::Message(_)) => format!("Union[{received}, {}]", sent(ty)),
    }
}

fn field_type(f: &Field, args: bool) -> String {
    let value = match &f.converted {
        Some(t) => native(t, &f.ty, args),
        None if args => sent(&f.ty),
        None => received(&f.ty),
    };
    let key = if args { sent } else { received };
    // An unset string field with a converted format is received as None.
    let unset_none = matches!(f.converted, Some(Target::Format(_)));
    match (&f.shape, args) {
        (Shape::Single { .. }, true) => format!("Optional[{value}]"),
        (Shape::Single { presence: true }, false) => format!("Optional[{value}]"),
        (Shape::Single { presence: false }, false) if unset_none => format!("Optional[{value}]"),
        (Shape::Single { presence: false }, false) => value,
        (Shape::Repeated, true) => format!("Sequence[{value}]"),
        (Shape::Repeated, false) => format!("List[{value}]"),
        (Shape::Map(k), true) => format!("Mapping[{}, {value}]", key(k)),
        (Shape::Map(k), false) => format!("Dict[{}, {value}]", key(k)),
    }
}

fn message(out: &mut String, m: &Message, args: bool) {
    let (name, total) = if args {
        (format!("{}Args", m.name), ", total=False")
    } else {
        (m.name.clone(), "")
    };
    let what = if args {
        format!(
            "What may be sent as a ``{}``: any subset of its fields (``None`` leaves one unset).",
            m.full_name
        )
    } else {
        format!("A ``{}`` as received: every field present.", m.full_name)
    };
    let doc = join(&m.doc, &what);
    line!(out);
    line!(out);
    if m.fields.iter().any(|f| KEYWORDS.contains(&f.name.as_str())) {
        let fields: Vec<String> = m
            .fields
            .iter()
            .map(|f| format!("\"{}\": \"{}\"", f.name, field_type(f, args)))
            .collect();
        line!(
            out,
            "{name} = TypedDict(\"{name}\", {{{}}}{total})",
            fields.join(", ")
        );
        line!(out, "\"\"\"{}\"\"\"", doc.replace("\"\"\"", "'''"));
        return;
    }
    line!(out, "class {name}(TypedDict{total}):");
    docstring(out, &doc, "    ");
    for f in &m.fields {
        let doc = f.doc_with_oneof("``");
        if !doc.is_empty() {
            line!(out);
        }
        out.push_str(&docs::lines(&doc, "    ", "#: "));
        line!(out, "    {}: {}", f.name, field_type(f, args));
    }
    if m.fields.is_empty() {
        line!(out, "    pass");
    }
}
