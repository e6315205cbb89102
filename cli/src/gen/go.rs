//! Go: one package per protobuf package (`demov1/demo_v1_hms.go`) of structs, string enums,
//! typed clients and server interfaces over the `hmsffi` module.
//!
//! Why structs of our own and not `protoc-gen-go` types: the Go binding already takes those
//! (`HandleProto`, `Call` with a `proto.Message`), but they need protoc-gen-go and a generated
//! `.pb.go` beside; these structs need only hms-ffi, and travel as the binding's value trees
//! (`map[string]any`, `docs/types.md`), so the core validates them as any other language's.
//! Fields are the Go types the binding decodes (`int64`, `float64`, `[]byte`, `time.Time`,
//! `time.Duration`), narrowed to the field's width; a field with presence (a message, a
//! Timestamp, a wrapper, an `optional` or oneof member) is a pointer, nil when unset. Enums are
//! string types with one constant a value (the binding gives names), named as protoc-gen-go
//! names them (`Color_COLOR_RED`). Streaming methods are typed over the binding's streams
//! (`go_stream`).

use hms_ffi_core::StreamingKind;

use super::docs::{self, join};
use super::go_stream;
use super::model::{Enum, Field, Message, Package, Service, Shape, Type};
use super::{pascal, unary, Output, GENERATED};

/// The helpers each generated package carries (they read the binding's decoded values).
const HELPERS: &str = include_str!("go_helpers.go.txt");

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let pkg = if p.name.is_empty() {
        "root".to_string()
    } else {
        p.name.replace('.', "")
    };
    let mut out = String::new();
    line!(out, "// {GENERATED}");
    line!(out, "// source: {}", p.files.join(", "));
    line!(out);
    line!(
        out,
        "// Package {pkg} holds the typed hms-ffi bindings of the protobuf package {}.",
        p.name
    );
    line!(out, "package {pkg}");
    line!(out);
    line!(out, "import (");
    if !p.services.is_empty() {
        line!(out, "\t\"context\"");
    }
    let streams = p.streams();
    if streams {
        line!(out, "\t\"iter\"");
    }
    line!(out, "\t\"math\"");
    line!(out, "\t\"strconv\"");
    line!(out, "\t\"time\"");
    if !p.services.is_empty() {
        line!(out);
        line!(out, "\thmsffi \"github.com/hms-ffi/hms-ffi/go\"");
    }
    line!(out, ")");
    for e in &p.enums {
        enumeration(&mut out, e);
    }
    let empty = Message {
        name: "ProtobufEmpty".into(),
        full_name: "google.protobuf.Empty".into(),
        fields: Vec::new(),
        doc: String::new(),
    };
    for m in p.messages.iter().chain([&empty]) {
        message(&mut out, m);
    }
    for s in &p.services {
        client(&mut out, s);
        server(&mut out, s);
    }
    out.push_str(HELPERS);
    if streams {
        out.push_str(go_stream::HELPERS);
    }
    vec![Output {
        path: format!("{pkg}/{}_hms.go", p.snake()),
        content: align(&out),
    }]
}

/// Aligns what follows a `\u{1}` marker over each run of consecutive marked lines, as gofmt
/// aligns struct fields, constants and keyed literals (a line without one ends a run).
fn align(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let end = (i..lines.len())
            .find(|&j| !lines[j].contains('\u{1}'))
            .unwrap_or(lines.len());
        if end == i {
            out.push_str(lines[i]);
            i += 1;
            continue;
        }
        let width = lines[i..end]
            .iter()
            .map(|l| l.split('\u{1}').next().unwrap_or("").chars().count())
            .max()
            .unwrap_or(0);
        for l in &lines[i..end] {
            let (head, tail) = l.split_once('\u{1}').unwrap_or((l, ""));
            out.push_str(head);
            out.push_str(&" ".repeat(width - head.chars().count() + 1));
            out.push_str(tail);
        }
        i = end;
    }
    out
}

fn enumeration(out: &mut String, e: &Enum) {
    line!(out);
    let doc = format!(
        "{} is the enum {}, by value name (how the binding gives enums).",
        e.name, e.full_name
    );
    out.push_str(&docs::lines(&join(&doc, &e.doc), "", "// "));
    line!(out, "type {} string", e.name);
    line!(out);
    line!(out, "// The values of {}.", e.name);
    line!(out, "const (");
    for v in &e.values {
        out.push_str(&docs::lines(&v.doc, "\t", "// "));
        line!(out, "\t{0}_{1}\u{1}{0} = \"{1}\"", e.name, v.name);
    }
    line!(out, ")");
}

/// The Go type of one value.
pub(crate) fn go_type(t: &Type) -> String {
    match t {
        Type::Float => "float64".into(),
        Type::Int32 => "int32".into(),
        Type::UInt32 => "uint32".into(),
        Type::Int64 => "int64".into(),
        Type::UInt64 => "uint64".into(),
        Type::Bool => "bool".into(),
        Type::String => "string".into(),
        Type::Bytes => "[]byte".into(),
        Type::Enum(n) => n.clone(),
        Type::Message(n) => format!("*{n}"),
        Type::Empty => "*ProtobufEmpty".into(),
        Type::Timestamp => "time.Time".into(),
        Type::Duration => "time.Duration".into(),
        Type::Struct => "map[string]any".into(),
        Type::JsonValue => "any".into(),
        Type::ListValue => "[]any".into(),
        Type::Wrapper(t) => go_type(t),
    }
}

/// True when a single field of this type is a pointer (nil when unset).
fn pointer(t: &Type, presence: bool) -> bool {
    presence
        && !matches!(
            t,
            Type::Message(_) | Type::Empty | Type::Struct | Type::JsonValue | Type::ListValue
        )
}

fn field_type(f: &Field) -> String {
    match &f.shape {
        Shape::Single { presence } if pointer(&f.ty, *presence) => format!("*{}", go_type(&f.ty)),
        Shape::Single { .. } => go_type(&f.ty),
        Shape::Repeated => format!("[]{}", go_type(&f.ty)),
        Shape::Map(k) => format!("map[{}]{}", go_type(k), go_type(&f.ty)),
    }
}

/// A function turning a decoded value (`any`) into the Go type of `t`.
pub(crate) fn decoder(t: &Type) -> String {
    match t {
        Type::Float => "hmsFloat".into(),
        Type::Int32 => "hmsInt[int32]".into(),
        Type::UInt32 => "hmsInt[uint32]".into(),
        Type::Int64 => "hmsInt[int64]".into(),
        Type::UInt64 => "hmsUint64".into(),
        Type::Bool => "hmsBool".into(),
        Type::String => "hmsString".into(),
        Type::Bytes => "hmsBytes".into(),
        Type::Enum(n) => format!("hmsEnum[{n}]"),
        Type::Message(n) => format!("{n}FromValue"),
        Type::Empty => "ProtobufEmptyFromValue".into(),
        Type::Timestamp => "hmsTime".into(),
        Type::Duration => "hmsDuration".into(),
        Type::Struct => "hmsStruct".into(),
        Type::JsonValue => "hmsAny".into(),
        Type::ListValue => "hmsList".into(),
        Type::Wrapper(t) => decoder(t),
    }
}

/// A function turning a Go value of type `t` into what the binding sends.
fn encoder(t: &Type) -> String {
    match t {
        Type::Message(n) => format!("hmsMsgOut[*{n}]"),
        Type::Empty => "hmsMsgOut[*ProtobufEmpty]".into(),
        Type::Enum(n) => format!("hmsEnumOut[{n}]"),
        _ => format!("hmsSame[{}]", go_type(t)),
    }
}

fn decode(f: &Field) -> String {
    let v = format!("v[\"{}\"]", f.name);
    match &f.shape {
        Shape::Single { presence } if pointer(&f.ty, *presence) => {
            format!("hmsOpt({v}, {})", decoder(&f.ty))
        }
        Shape::Single { .. } => format!("{}({v})", decoder(&f.ty)),
        Shape::Repeated => format!("hmsRepeated({v}, {})", decoder(&f.ty)),
        Shape::Map(k) => format!("hmsMap({v}, {}, {})", decoder(k), decoder(&f.ty)),
    }
}

fn encode(f: &Field) -> String {
    let x = format!("m.{}", pascal(&f.name));
    match &f.shape {
        Shape::Single { presence } if pointer(&f.ty, *presence) => {
            format!("hmsOptOut({x}, {})", encoder(&f.ty))
        }
        Shape::Single { .. } => format!("{}({x})", encoder(&f.ty)),
        Shape::Repeated => format!("hmsRepeatedOut({x}, {})", encoder(&f.ty)),
        Shape::Map(_) => format!("hmsMapOut({x}, {})", encoder(&f.ty)),
    }
}

fn message(out: &mut String, m: &Message) {
    let n = &m.name;
    line!(out);
    out.push_str(&docs::lines(
        &join(&format!("{n} is the message {}.", m.full_name), &m.doc),
        "",
        "// ",
    ));
    line!(out, "type {n} struct {{");
    for f in &m.fields {
        let doc = f.doc_with_oneof("");
        out.push_str(&docs::lines(&doc, "\t", "// "));
        line!(out, "\t{}\u{1}{}", pascal(&f.name), field_type(f));
    }
    line!(out, "}}");
    line!(out);
    line!(
        out,
        "// AsValue is m as the binding sends it (nil for a nil m)."
    );
    line!(out, "func (m *{n}) AsValue() map[string]any {{");
    line!(out, "\tif m == nil {{");
    line!(out, "\t\treturn nil");
    line!(out, "\t}}");
    if m.fields.is_empty() {
        line!(out, "\treturn map[string]any{{}}");
    } else {
        line!(out, "\treturn map[string]any{{");
        for f in &m.fields {
            line!(out, "\t\t\"{}\":\u{1}{},", f.name, encode(f));
        }
        line!(out, "\t}}");
    }
    line!(out, "}}");
    line!(out);
    line!(
        out,
        "// {n}FromValue reads a {n} from a value the binding decoded (nil for nil)."
    );
    line!(out, "func {n}FromValue(value any) *{n} {{");
    line!(out, "\tv, ok := value.(map[string]any)");
    line!(out, "\tif !ok {{");
    line!(out, "\t\treturn nil");
    line!(out, "\t}}");
    if m.fields.is_empty() {
        line!(out, "\t_ = v");
        line!(out, "\treturn &{n}{{}}");
    } else {
        line!(out, "\treturn &{n}{{");
        for f in &m.fields {
            line!(out, "\t\t{}:\u{1}{},", pascal(&f.name), decode(f));
        }
        line!(out, "\t}}");
    }
    line!(out, "}}");
}

fn client(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!(
        "{n}Client makes typed calls of {} over an *hmsffi.Client.",
        s.full_name
    );
    out.push_str(&docs::lines(&join(&doc, &s.doc), "", "// "));
    line!(out, "type {n}Client struct {{");
    line!(out, "\tClient *hmsffi.Client");
    line!(out, "}}");
    line!(out);
    line!(out, "// New{n}Client wraps a connected client.");
    line!(
        out,
        "func New{n}Client(c *hmsffi.Client) *{n}Client {{ return &{n}Client{{Client: c}} }}"
    );
    for m in unary(s) {
        let (req, rep) = (go_type(&m.input), go_type(&m.output));
        line!(out);
        let doc = format!(
            "{} calls {}. The context's deadline and cancellation apply.",
            m.name, m.path
        );
        out.push_str(&docs::lines(&join(&doc, &m.doc), "", "// "));
        line!(out, "func (c *{n}Client) {}(ctx context.Context, req {req}, opts ...hmsffi.CallOption) ({rep}, error) {{", m.name);
        line!(out, "\tvar reply map[string]any");
        line!(
            out,
            "\tif err := c.Client.Call(ctx, \"{}\", req.AsValue(), &reply, opts...); err != nil {{",
            m.path
        );
        line!(out, "\t\treturn nil, err");
        line!(out, "\t}}");
        line!(out, "\treturn {}(reply), nil", decoder(&m.output));
        line!(out, "}}");
    }
    for m in s.methods.iter().filter(|m| m.kind != StreamingKind::Unary) {
        go_stream::client_method(out, n, m);
    }
}

fn server(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!(
        "{n}Server is the server side of {}: implement it and call Register{n}Server.",
        s.full_name
    );
    out.push_str(&docs::lines(&doc, "", "// "));
    line!(out, "type {n}Server interface {{");
    for m in &s.methods {
        out.push_str(&docs::lines(&m.doc, "\t", "// "));
        let signature = match m.kind {
            StreamingKind::Unary => format!(
                "{}(ctx context.Context, req {}) ({}, error)",
                m.name,
                go_type(&m.input),
                go_type(&m.output)
            ),
            _ => go_stream::server_method(m),
        };
        line!(out, "\t{signature}");
    }
    line!(out, "}}");
    line!(out);
    line!(
        out,
        "// Register{n}Server registers every method of {} with s, served by impl.",
        s.full_name
    );
    line!(
        out,
        "func Register{n}Server(s *hmsffi.Server, impl {n}Server) error {{"
    );
    for m in unary(s) {
        line!(out, "\tif err := s.Handle(\"{}\", func(ctx context.Context, req map[string]any) (map[string]any, error) {{", m.path);
        line!(
            out,
            "\t\treply, err := impl.{}(ctx, {}(req))",
            m.name,
            decoder(&m.input)
        );
        line!(out, "\t\tif err != nil {{");
        line!(out, "\t\t\treturn nil, err");
        line!(out, "\t\t}}");
        line!(out, "\t\treturn reply.AsValue(), nil");
        line!(out, "\t}}); err != nil {{");
        line!(out, "\t\treturn err");
        line!(out, "\t}}");
    }
    for m in s.methods.iter().filter(|m| m.kind != StreamingKind::Unary) {
        go_stream::register(out, m);
    }
    line!(out, "\treturn nil");
    line!(out, "}}");
}
