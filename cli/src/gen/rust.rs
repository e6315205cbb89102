//! Rust: one module per package (`demo_v1.rs`, to `include!` or `mod`) of structs, enums,
//! typed clients and service traits over `hms-ffi-core`, streams included.
//!
//! A message is a `Default` struct of the types the core's `Value` holds (`i64` narrowed to the
//! field's width, `f64`, `String`, `Vec<u8>`, `Timestamp`, `Duration`), `Option` for a field
//! with presence (`Box` for a message that contains itself), `Vec` and `BTreeMap` for repeated
//! and map fields, `Value` for `Struct`/`Value`/`ListValue`/`Empty`; it converts through the
//! [`HmsMessage`]-style trait the file declares (`from_value`, `to_value`), and the core still
//! validates every value. A service is a trait of `async` methods (defaulting to
//! `UNIMPLEMENTED`) registered with one call; streaming methods get typed streams. A oneof is
//! an `Option` of an enum, as prost writes it ([`super::rust_oneof`]).

use hms_ffi_core::StreamingKind;

use super::docs::{self, join};
use super::model::{Field, Message, Package, Service, Shape, Type};
use super::rust_oneof;
use super::{
    first_member, rust_field as field_name, rust_variant as variant, snake, Output, GENERATED,
};

/// The trait, stream wrappers and value readers each generated module carries.
const HELPERS: &str = include_str!("rust_helpers.rs.txt");

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let mut out = String::new();
    line!(out, "// {GENERATED}");
    line!(out, "// source: {}", p.files.join(", "));
    line!(
        out,
        "//! Typed hms-ffi bindings of the protobuf package `{}`.",
        p.name
    );
    line!(out);
    line!(
        out,
        "#![allow(dead_code, missing_docs, unreachable_pub, missing_debug_implementations)]"
    );
    line!(out);
    line!(out, "use std::collections::BTreeMap;");
    line!(out, "use std::future::Future;");
    line!(out, "use std::sync::Arc;");
    line!(out);
    line!(out, "use hms_ffi_core::{{CallOptions, Client, Code, Context, Duration, Error, Result, Server, Timestamp, Value}};");
    for e in &p.enums {
        line!(out);
        rustdoc(
            &mut out,
            &join(
                &e.doc,
                &format!("The enum `{}`; it travels by value name.", e.full_name),
            ),
            "",
        );
        line!(
            out,
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]"
        );
        line!(out, "pub enum {} {{", e.name);
        for (i, v) in e.values.iter().enumerate() {
            rustdoc(&mut out, &v.doc, "    ");
            let default = if i == 0 { "#[default]\n    " } else { "" };
            line!(out, "    {default}{},", variant(&e.name, &v.name));
        }
        line!(out, "}}");
        line!(out);
        line!(out, "impl HmsMessage for {} {{", e.name);
        line!(out, "    fn from_value(v: &Value) -> Self {{");
        line!(out, "        match v.as_str() {{");
        for v in e.values.iter().skip(1) {
            let var = variant(&e.name, &v.name);
            line!(out, "            Some(\"{}\") => Self::{var},", v.name);
        }
        line!(out, "            _ => Self::default(),");
        line!(out, "        }}");
        line!(out, "    }}");
        line!(out, "    fn to_value(&self) -> Value {{");
        line!(out, "        Value::from(match self {{");
        for v in &e.values {
            let var = variant(&e.name, &v.name);
            line!(out, "            Self::{var} => \"{}\",", v.name);
        }
        line!(out, "        }})");
        line!(out, "    }}");
        line!(out, "}}");
    }
    for m in &p.messages {
        message(&mut out, m);
    }
    for s in &p.services {
        client(&mut out, s);
        service(&mut out, s);
    }
    out.push_str(HELPERS);
    vec![Output {
        path: format!("{}.rs", p.snake()),
        content: out,
    }]
}

/// Appends `text` as `///` doc lines indented by `indent`.
pub(super) fn rustdoc(out: &mut String, text: &str, indent: &str) {
    out.push_str(&docs::lines(text, indent, "/// "));
}

pub(super) fn rs_type(t: &Type) -> String {
    match t {
        Type::Float => "f64".into(),
        Type::Int32 => "i32".into(),
        Type::UInt32 => "u32".into(),
        Type::Int64 => "i64".into(),
        Type::UInt64 => "u64".into(),
        Type::Bool => "bool".into(),
        Type::String => "String".into(),
        Type::Bytes => "Vec<u8>".into(),
        Type::Enum(n) | Type::Message(n) => n.clone(),
        Type::Timestamp => "Timestamp".into(),
        Type::Duration => "Duration".into(),
        Type::Struct | Type::JsonValue | Type::ListValue | Type::Empty => "Value".into(),
        Type::Wrapper(t) => rs_type(t),
    }
}

fn field_type(f: &Field, owner: &str) -> String {
    match &f.shape {
        Shape::Single { presence: true }
            if !matches!(
                f.ty,
                Type::Struct | Type::JsonValue | Type::ListValue | Type::Empty
            ) =>
        {
            let t = rs_type(&f.ty);
            if t == owner {
                format!("Option<Box<{t}>>")
            } else {
                format!("Option<{t}>")
            }
        }
        Shape::Single { .. } => rs_type(&f.ty),
        Shape::Repeated => format!("Vec<{}>", rs_type(&f.ty)),
        Shape::Map(k) => format!("BTreeMap<{}, {}>", rs_type(k), rs_type(&f.ty)),
    }
}

fn message(out: &mut String, m: &Message) {
    let n = &m.name;
    line!(out);
    rustdoc(
        out,
        &join(&m.doc, &format!("The message `{}`.", m.full_name)),
        "",
    );
    line!(out, "#[derive(Debug, Clone, PartialEq, Default)]");
    line!(out, "pub struct {n} {{");
    for f in &m.fields {
        let (name, ty, doc) = match f.oneof.as_deref() {
            Some(o) if first_member(m, f) => {
                let (name, ty) = rust_oneof::field(m, o);
                let doc = format!("The oneof `{o}`: the member set, or `None`.");
                (name, ty, doc)
            }
            Some(_) => continue,
            None => (field_name(&f.name), field_type(f, n), f.doc.clone()),
        };
        rustdoc(out, &doc, "    ");
        line!(out, "    pub {name}: {ty},");
    }
    line!(out, "}}");
    rust_oneof::enums(out, m);
    line!(out);
    line!(out, "impl HmsMessage for {n} {{");
    line!(
        out,
        "    fn from_value({}v: &Value) -> Self {{",
        if m.fields.is_empty() { "_" } else { "" }
    );
    line!(out, "        Self {{");
    for f in &m.fields {
        if let Some(o) = f.oneof.as_deref() {
            if first_member(m, f) {
                let (name, _) = rust_oneof::field(m, o);
                line!(out, "            {name}: {},", rust_oneof::read(m, o));
            }
            continue;
        }
        let x = format!("v.get(\"{}\")", f.name);
        let boxed =
            matches!(&f.ty, Type::Message(t) if t == n) && matches!(f.shape, Shape::Single { .. });
        let value = match &f.shape {
            Shape::Single { presence: true } if rs_type(&f.ty) != "Value" && boxed => {
                format!("opt({x}).map(|v| Box::new(HmsMessage::from_value(v)))")
            }
            Shape::Single { presence: true } if rs_type(&f.ty) != "Value" => {
                format!("opt({x}).map(HmsMessage::from_value)")
            }
            Shape::Single { .. } => format!("{x}.map(HmsMessage::from_value).unwrap_or_default()"),
            Shape::Repeated => format!("list({x})"),
            Shape::Map(_) => format!("map({x})"),
        };
        line!(out, "            {}: {value},", field_name(&f.name));
    }
    line!(out, "        }}");
    line!(out, "    }}");
    line!(out);
    line!(out, "    fn to_value(&self) -> Value {{");
    line!(out, "        Value::message([");
    for f in &m.fields {
        let x = format!("self.{}", field_name(&f.name));
        let value = match &f.shape {
            _ if f.oneof.is_some() => rust_oneof::write(m, f),
            Shape::Single { presence: true } if rs_type(&f.ty) != "Value" => {
                format!("{x}.as_ref().map_or(Value::Null, |v| v.to_value())")
            }
            Shape::Single { .. } => format!("{x}.to_value()"),
            Shape::Repeated => {
                format!("Value::List({x}.iter().map(HmsMessage::to_value).collect())")
            }
            Shape::Map(_) => format!(
                "Value::Map({x}.iter().map(|(k, v)| (k.to_value(), v.to_value())).collect())"
            ),
        };
        line!(out, "            (\"{}\", {value}),", f.name);
    }
    line!(out, "        ])");
    line!(out, "    }}");
    line!(out, "}}");
}

fn client(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    rustdoc(
        out,
        &join(
            &s.doc,
            &format!(
                "Typed calls of `{}` over a [`Client`]; `options` apply to every call.",
                s.full_name
            ),
        ),
        "",
    );
    line!(out, "#[derive(Debug, Clone)]");
    line!(out, "pub struct {n}Client {{");
    line!(out, "    pub client: Client,");
    line!(out, "    pub options: CallOptions,");
    line!(out, "}}");
    line!(out);
    line!(out, "impl {n}Client {{");
    line!(out, "    pub fn new(client: Client) -> Self {{");
    line!(
        out,
        "        Self {{ client, options: CallOptions::default() }}"
    );
    line!(out, "    }}");
    for m in &s.methods {
        let (req, rep) = (rs_type(&m.input), rs_type(&m.output));
        let name = snake(&m.name);
        line!(out);
        rustdoc(out, &m.doc, "    ");
        match m.kind {
            StreamingKind::Unary => {
                line!(
                    out,
                    "    pub async fn {name}(&self, request: &{req}) -> Result<{rep}> {{"
                );
                line!(out, "        let reply = self.client.call(\"{}\", &request.to_value(), &self.options).await?;", m.path);
                line!(out, "        Ok(HmsMessage::from_value(&reply))");
                line!(out, "    }}");
                line!(out);
                line!(
                    out,
                    "    /// [`Self::{name}`], blocking the calling thread."
                );
                line!(
                    out,
                    "    pub fn {name}_blocking(&self, request: &{req}) -> Result<{rep}> {{"
                );
                line!(out, "        let reply = self.client.call_blocking(\"{}\", &request.to_value(), &self.options)?;", m.path);
                line!(out, "        Ok(HmsMessage::from_value(&reply))");
                line!(out, "    }}");
            }
            StreamingKind::ServerStreaming => {
                line!(out, "    pub async fn {name}(&self, request: &{req}) -> Result<Stream<{req}, {rep}>> {{");
                line!(out, "        let stream = self.client.server_streaming(\"{}\", &request.to_value(), &self.options).await?;", m.path);
                line!(out, "        Ok(Stream::new(stream))");
                line!(out, "    }}");
            }
            StreamingKind::ClientStreaming | StreamingKind::Bidi => {
                line!(out, "    /// Opens the stream: `send` the requests, `close_send`, then read the replies with `next`.");
                line!(
                    out,
                    "    pub async fn {name}(&self) -> Result<Stream<{req}, {rep}>> {{"
                );
                line!(out, "        Ok(Stream::new(self.client.open_stream(\"{}\", &self.options).await?))", m.path);
                line!(out, "    }}");
            }
        }
    }
    line!(out, "}}");
}

fn service(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!("The server side of `{}`: implement the methods (the others fail with\n`UNIMPLEMENTED`) and call [`register_{}`].", s.full_name, snake(n));
    rustdoc(out, &join(&s.doc, &doc), "");
    line!(out, "pub trait {n}Service: Send + Sync + 'static {{");
    for m in &s.methods {
        let (req, rep) = (rs_type(&m.input), rs_type(&m.output));
        let (args, output) = match m.kind {
            StreamingKind::Unary => (format!("_request: {req}"), rep),
            StreamingKind::ServerStreaming => (
                format!("_request: {req}, _replies: Sink<{rep}>"),
                "()".into(),
            ),
            StreamingKind::ClientStreaming => (format!("_requests: Requests<{req}>"), rep),
            StreamingKind::Bidi => (
                format!("_requests: Requests<{req}>, _replies: Sink<{rep}>"),
                "()".into(),
            ),
        };
        rustdoc(out, &m.doc, "    ");
        line!(out, "    fn {}(&self, {args}, _ctx: Context) -> impl Future<Output = Result<{output}>> + Send {{", snake(&m.name));
        line!(
            out,
            "        async {{ Err(Error::new(Code::Unimplemented, \"{} is not implemented\")) }}",
            m.path
        );
        line!(out, "    }}");
    }
    line!(out, "}}");
    line!(out);
    line!(
        out,
        "/// Registers every method of `{}` with `server`, served by `service`.",
        s.full_name
    );
    line!(
        out,
        "pub fn register_{}<S: {n}Service>(server: &Server, service: Arc<S>) -> Result<()> {{",
        snake(n)
    );
    for m in &s.methods {
        let name = snake(&m.name);
        line!(out, "    let s = service.clone();");
        match m.kind {
            StreamingKind::Unary => {
                line!(out, "    server.unary(\"{}\", move |req, ctx| {{", m.path);
                line!(out, "        let s = s.clone();");
                line!(out, "        async move {{ Ok(s.{name}(HmsMessage::from_value(&req), ctx).await?.to_value()) }}");
            }
            StreamingKind::ServerStreaming => {
                line!(
                    out,
                    "    server.server_streaming(\"{}\", move |req, sink, ctx| {{",
                    m.path
                );
                line!(out, "        let s = s.clone();");
                line!(out, "        async move {{ s.{name}(HmsMessage::from_value(&req), Sink::new(sink), ctx).await }}");
            }
            StreamingKind::ClientStreaming => {
                line!(
                    out,
                    "    server.client_streaming(\"{}\", move |input, ctx| {{",
                    m.path
                );
                line!(out, "        let s = s.clone();");
                line!(out, "        async move {{ Ok(s.{name}(Requests::new(input), ctx).await?.to_value()) }}");
            }
            StreamingKind::Bidi => {
                line!(
                    out,
                    "    server.bidi_streaming(\"{}\", move |input, sink, ctx| {{",
                    m.path
                );
                line!(out, "        let s = s.clone();");
                line!(out, "        async move {{ s.{name}(Requests::new(input), Sink::new(sink), ctx).await }}");
            }
        }
        line!(out, "    }})?;");
    }
    line!(out, "    let _ = service;");
    line!(out, "    Ok(())");
    line!(out, "}}");
}
