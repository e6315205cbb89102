//! Ruby: one file per package (`demo_v1_hms.rb`, modules `Demo::V1`) of message classes, enum
//! modules, typed clients and service bases over the `hms_ffi` gem, with RBS signatures beside
//! it (`demo_v1_hms.rbs`, checked by `rbs validate`).
//!
//! A message is a class with keyword arguments and accessors, built from the reply Hash the
//! binding gives (`from_h`) and turned back into one (`to_h`), so a misspelt field is an
//! `ArgumentError` at once (and an RBS error for a type checker), not a dropped key. Fields
//! without presence default to their zero value; fields with presence are `nil` when unset.
//! Values are the binding's (`docs/types.md`): Integer, Float, String (binary for bytes), enum
//! names as Strings (each enum is a module of name constants), `Time`, `Rational` seconds for
//! Durations; a field the gem's built-in converters make native is a `BigDecimal` or a `Date`
//! (`google.type.Decimal`, `google.type.Date`). The gem has no RBS of its own yet, so its objects are `untyped` in the signatures.
//! A string-keyed map's keys are Strings (`from_h` turns the gem's Symbols back). A oneof's
//! members stay attributes, with `which_<oneof>` and `<oneof>` readers typed as RBS unions
//! ([`super::oneof_readers`]).
//! A streaming method takes and gives Enumerators of message objects that read as they are
//! iterated, over the gem's `HmsFfi::Stream` and streaming blocks (a client-streaming call
//! returns its one reply), as the Python generator types them with iterators.

use super::docs;
use super::docs::join;
use super::model::{Field, Message, Package, Service, Shape, Type};
use hms_ffi_core::mapping::Target;
use hms_ffi_core::StreamingKind;

use super::{oneofs, pascal, snake, Output, GENERATED};

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let modules: Vec<String> = p
        .name
        .split('.')
        .filter(|s| !s.is_empty())
        .map(pascal)
        .collect();
    let modules = if modules.is_empty() {
        vec!["Root".to_string()]
    } else {
        modules
    };
    let (mut rb, mut rbs) = (String::new(), String::new());
    line!(rb, "# frozen_string_literal: true");
    line!(rb, "# {GENERATED}");
    line!(rb, "# source: {}", p.files.join(", "));
    line!(rb);
    line!(rb, "require \"hms_ffi\"");
    line!(rbs, "# {GENERATED}");
    for (depth, m) in modules.iter().enumerate() {
        let pad = "  ".repeat(depth);
        line!(rb, "{pad}module {m}");
        line!(rbs, "{pad}module {m}");
    }
    let pad = "  ".repeat(modules.len());
    for e in &p.enums {
        let doc = join(
            &e.doc,
            &format!(
                "The names of the enum {} (how the binding gives enums).",
                e.full_name
            ),
        );
        line!(rb);
        rb.push_str(&docs::lines(&doc, &pad, "# "));
        line!(rb, "{pad}module {}", constant(&e.name));
        line!(rbs, "{pad}module {}", constant(&e.name));
        for v in &e.values {
            rb.push_str(&docs::lines(&v.doc, &format!("{pad}  "), "# "));
            line!(rb, "{pad}  {} = \"{}\"", v.name, v.name);
            line!(rbs, "{pad}  {}: String", v.name);
        }
        line!(rb, "{pad}end");
        line!(rbs, "{pad}end");
    }
    for m in &p.messages {
        message(&mut rb, &mut rbs, m, p, &pad);
    }
    for s in &p.services {
        client(&mut rb, &mut rbs, s, &pad);
        service(&mut rb, &mut rbs, s, &pad);
    }
    for depth in (0..modules.len()).rev() {
        line!(rb, "{}end", "  ".repeat(depth));
        line!(rbs, "{}end", "  ".repeat(depth));
    }
    let name = format!("{}_hms", p.snake());
    vec![
        Output {
            path: format!("{name}.rb"),
            content: rb,
        },
        Output {
            path: format!("{name}.rbs"),
            content: rbs,
        },
    ]
}

/// A class name as a Ruby constant: another package's message (`google_type_Money`) gets a
/// capital first letter (`Google_type_Money`).
fn constant(n: &str) -> String {
    let mut c = n.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// The RBS type of one value.
fn rbs_type(t: &Type) -> String {
    match t {
        Type::Float => "Float".into(),
        Type::Int32 | Type::UInt32 | Type::Int64 | Type::UInt64 => "Integer".into(),
        Type::Bool => "bool".into(),
        Type::String | Type::Bytes | Type::Enum(_) => "String".into(),
        Type::Message(n) => constant(n),
        Type::Timestamp => "Time".into(),
        Type::Duration => "Rational".into(),
        Type::Struct | Type::Empty => "Hash[Symbol, untyped]".into(),
        Type::JsonValue => "untyped".into(),
        Type::ListValue => "Array[untyped]".into(),
        Type::Wrapper(t) => rbs_type(t),
    }
}

/// The class the gem's built-in converters (`HmsFfi::Converters::BUILTIN`) give a field's
/// values, if one applies (no money or UUID class: those stay their message and text).
fn native(f: &Field) -> Option<&'static str> {
    match f.converted.as_ref()? {
        Target::Message(m) if m == "google.type.Decimal" => Some("BigDecimal"),
        Target::Message(m) if m == "google.type.Date" => Some("Date"),
        _ => None,
    }
}

pub(super) fn field_rbs(f: &Field) -> String {
    let t = native(f).map_or_else(|| rbs_type(&f.ty), str::to_string);
    match &f.shape {
        Shape::Single { presence: true } => format!("{t}?"),
        Shape::Single { presence: false } => t,
        Shape::Repeated => format!("Array[{t}]"),
        Shape::Map(k) => format!("Hash[{}, {t}]", rbs_type(k)),
    }
}

/// The zero value of a field without presence.
fn zero(f: &Field, p: &Package) -> String {
    match (&f.shape, &f.ty) {
        (Shape::Single { presence: true }, _) => "nil".into(),
        (Shape::Repeated, _) => "[]".into(),
        (Shape::Map(_), _) => "{}".into(),
        (_, Type::Float) => "0.0".into(),
        (_, Type::Bool) => "false".into(),
        (_, Type::String) => "\"\"".into(),
        (_, Type::Bytes) => "\"\".b".into(),
        (_, Type::Enum(n)) => p.enum_zero(n).map_or("\"\"".into(), |v| format!("\"{v}\"")),
        _ => "0".into(),
    }
}

fn message(rb: &mut String, rbs: &mut String, m: &Message, p: &Package, pad: &str) {
    let n = &constant(&m.name);
    line!(rb);
    rb.push_str(&docs::lines(
        &join(&m.doc, &format!("The message {}.", m.full_name)),
        pad,
        "# ",
    ));
    line!(rb, "{pad}class {n}");
    line!(rbs, "{pad}class {n}");
    let names: Vec<String> = m.fields.iter().map(|f| format!(":{}", f.name)).collect();
    if !names.is_empty() {
        line!(rb, "{pad}  attr_accessor {}", names.join(", "));
        line!(rb);
    }
    for f in &m.fields {
        let doc = f.doc_with_oneof("");
        rbs.push_str(&docs::lines(&doc, &format!("{pad}  "), "# "));
        line!(rbs, "{pad}  attr_accessor {}: {}", f.name, field_rbs(f));
    }
    let params: Vec<String> = m
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.name, zero(f, p)))
        .collect();
    line!(rb, "{pad}  def initialize({})", params.join(", "));
    for f in &m.fields {
        line!(rb, "{pad}    @{0} = {0}", f.name);
    }
    line!(rb, "{pad}  end");
    line!(rb);
    line!(
        rb,
        "{pad}  # A {n} from a Hash with Symbol keys, as the binding gives a reply."
    );
    line!(rb, "{pad}  def self.from_h(h)");
    let args: Vec<String> = m
        .fields
        .iter()
        .map(|f| {
            let get = format!("h.fetch(:{}, {})", f.name, zero(f, p));
            let value = match (&f.shape, &f.ty) {
                _ if native(f).is_some() => get,
                (Shape::Single { .. }, Type::Message(t)) => {
                    format!("h[:{}]&.then {{ |v| {}.from_h(v) }}", f.name, constant(t))
                }
                (Shape::Repeated, Type::Message(t)) => {
                    format!("{get}.map {{ |v| {}.from_h(v) }}", constant(t))
                }
                (Shape::Map(_), Type::Message(t)) => {
                    format!("{get}.transform_values {{ |v| {}.from_h(v) }}", constant(t))
                }
                _ => get,
            };
            // The gem gives a string-keyed map's keys as Symbols; the RBS says String.
            let value = match &f.shape {
                Shape::Map(Type::String) => format!("{value}.transform_keys(&:to_s)"),
                _ => value,
            };
            format!("{}: {value}", f.name)
        })
        .collect();
    line!(rb, "{pad}    new({})", args.join(", "));
    line!(rb, "{pad}  end");
    line!(rb);
    line!(
        rb,
        "{pad}  # This message as a Hash the binding sends (nil leaves a field unset)."
    );
    line!(rb, "{pad}  def to_h");
    let entries: Vec<String> = m
        .fields
        .iter()
        .map(|f| {
            let value = match (&f.shape, &f.ty) {
                _ if native(f).is_some() => format!("@{}", f.name),
                (Shape::Single { .. }, Type::Message(_)) => format!("@{}&.to_h", f.name),
                (Shape::Repeated, Type::Message(_)) => format!("@{}.map(&:to_h)", f.name),
                (Shape::Map(_), Type::Message(_)) => {
                    format!("@{}.transform_values(&:to_h)", f.name)
                }
                _ => format!("@{}", f.name),
            };
            format!("{}: {value}", f.name)
        })
        .collect();
    line!(rb, "{pad}    {{ {} }}", entries.join(", "));
    line!(rb, "{pad}  end");
    line!(rb);
    line!(rb, "{pad}  def ==(other)");
    line!(rb, "{pad}    other.is_a?({n}) && other.to_h == to_h");
    line!(rb, "{pad}  end");
    for (o, members) in oneofs(m) {
        super::oneof_readers::ruby(rb, rbs, o, &members, pad);
    }
    line!(rb, "{pad}end");
    let params: Vec<String> = m
        .fields
        .iter()
        .map(|f| format!("?{}: {}", f.name, field_rbs(f)))
        .collect();
    line!(
        rbs,
        "{pad}  def initialize: ({}) -> void",
        params.join(", ")
    );
    line!(
        rbs,
        "{pad}  def self.from_h: (Hash[Symbol, untyped] h) -> {n}"
    );
    line!(rbs, "{pad}  def to_h: () -> Hash[Symbol, untyped]");
    line!(rbs, "{pad}  def ==: (untyped other) -> bool");
    line!(rbs, "{pad}end");
}

/// The Ruby class a method's request or reply is read into, and how.
fn read(t: &Type, value: &str) -> String {
    match t {
        Type::Message(n) => format!("{}.from_h({value})", constant(n)),
        _ => value.to_string(),
    }
}

fn client(rb: &mut String, rbs: &mut String, s: &Service, pad: &str) {
    let n = &s.name;
    let doc = format!("Typed calls of {} over an HmsFfi::Client; `timeout` (seconds) and `metadata`\napply to every call.", s.full_name);
    line!(rb);
    rb.push_str(&docs::lines(&join(&s.doc, &doc), pad, "# "));
    line!(rb, "{pad}class {n}Client");
    line!(rb, "{pad}  attr_reader :client");
    line!(rb);
    line!(
        rb,
        "{pad}  def initialize(client, timeout: nil, metadata: {{}})"
    );
    line!(rb, "{pad}    @client = client");
    line!(rb, "{pad}    @timeout = timeout");
    line!(rb, "{pad}    @metadata = metadata");
    line!(rb, "{pad}  end");
    line!(rbs, "{pad}class {n}Client");
    line!(rbs, "{pad}  attr_reader client: untyped");
    line!(rbs, "{pad}  def initialize: (untyped client, ?timeout: Numeric?, ?metadata: Hash[String, String]) -> void");
    for m in &s.methods {
        let name = snake(&m.name);
        let (req, rep) = (rbs_type(&m.input), rbs_type(&m.output));
        line!(rb);
        rb.push_str(&docs::lines(&m.doc, &format!("{pad}  "), "# "));
        let build = match &m.input {
            Type::Message(t) => format!("(request || {}.new(**fields)).to_h", constant(t)),
            _ => "request || fields".to_string(),
        };
        let opts = "timeout: @timeout, metadata: @metadata";
        let (path, each) = (&m.path, read(&m.output, "r"));
        let replies = format!("Enumerator[{rep}, untyped]");
        let many = format!("Enumerable[{req} | Hash[Symbol, untyped]] requests");
        let (args, body, sig) = match m.kind {
            StreamingKind::Unary => ("request = nil, **fields", read(&m.output, &format!("@client.call(\"{path}\", {build}, {opts})")), format!("(?{req}? request, **untyped fields) -> {rep}")),
            StreamingKind::ServerStreaming => ("request = nil, **fields", format!("@client.stream(\"{path}\", {build}, {opts}).lazy.map {{ |r| {each} }}.eager"), format!("(?{req}? request, **untyped fields) -> {replies}")),
            StreamingKind::ClientStreaming => ("requests", read(&m.output, &format!("@client.stream(\"{path}\", requests.lazy.map(&:to_h), {opts}).result")), format!("({many}) -> {rep}")),
            StreamingKind::Bidi => ("requests", format!("@client.stream(\"{path}\", requests.lazy.map(&:to_h), {opts}).lazy.map {{ |r| {each} }}.eager"), format!("({many}) -> {replies}")),
        };
        line!(rb, "{pad}  def {name}({args})");
        line!(rb, "{pad}    {body}");
        line!(rb, "{pad}  end");
        line!(rbs, "{pad}  def {name}: {sig}");
    }
    line!(rb, "{pad}end");
    line!(rbs, "{pad}end");
}

fn service(rb: &mut String, rbs: &mut String, s: &Service, pad: &str) {
    let n = &s.name;
    let doc = format!("The server side of {}: subclass it, override the methods and call\n`{n}Service.register(server, impl)`. A method left alone fails with UNIMPLEMENTED.", s.full_name);
    line!(rb);
    rb.push_str(&docs::lines(&doc, pad, "# "));
    line!(rb, "{pad}class {n}Service");
    line!(rbs, "{pad}class {n}Service");
    line!(
        rb,
        "{pad}  # Registers every method of {} with `server`, served by `impl`.",
        s.full_name
    );
    line!(rb, "{pad}  def self.register(server, impl)");
    for m in &s.methods {
        let (path, name) = (&m.path, snake(&m.name));
        let requests = format!("requests.lazy.map {{ |r| {} }}.eager", read(&m.input, "r"));
        let (args, call) = match m.kind {
            StreamingKind::Unary => (
                "req",
                format!("impl.{name}({}, ctx).to_h", read(&m.input, "req")),
            ),
            StreamingKind::ServerStreaming => (
                "req",
                format!(
                    "impl.{name}({}, ctx).lazy.map(&:to_h)",
                    read(&m.input, "req")
                ),
            ),
            StreamingKind::ClientStreaming => {
                ("requests", format!("impl.{name}({requests}, ctx).to_h"))
            }
            StreamingKind::Bidi => (
                "requests",
                format!("impl.{name}({requests}, ctx).lazy.map(&:to_h)"),
            ),
        };
        line!(
            rb,
            "{pad}    server.method(\"{path}\") {{ |{args}, ctx| {call} }}"
        );
    }
    line!(rb, "{pad}    server");
    line!(rb, "{pad}  end");
    line!(
        rbs,
        "{pad}  def self.register: (untyped server, {n}Service impl) -> untyped"
    );
    for m in &s.methods {
        let (req, rep) = (rbs_type(&m.input), rbs_type(&m.output));
        let reply = format!("({rep} | Hash[Symbol, untyped])");
        let replies = format!("Enumerable[{rep} | Hash[Symbol, untyped]]");
        let (arg, sig) = match m.kind {
            StreamingKind::Unary => (
                "_request",
                format!("({req} request, untyped ctx) -> {reply}"),
            ),
            StreamingKind::ServerStreaming => (
                "_request",
                format!("({req} request, untyped ctx) -> {replies}"),
            ),
            StreamingKind::ClientStreaming => (
                "_requests",
                format!("(Enumerator[{req}, untyped] requests, untyped ctx) -> {reply}"),
            ),
            StreamingKind::Bidi => (
                "_requests",
                format!("(Enumerator[{req}, untyped] requests, untyped ctx) -> {replies}"),
            ),
        };
        line!(rb);
        rb.push_str(&docs::lines(&m.doc, &format!("{pad}  "), "# "));
        line!(rb, "{pad}  def {}({arg}, _ctx)", snake(&m.name));
        line!(
            rb,
            "{pad}    raise HmsFfi::Unimplemented, \"{} is not implemented\"",
            m.path
        );
        line!(rb, "{pad}  end");
        line!(rbs, "{pad}  def {}: {sig}", snake(&m.name));
    }
    line!(rb, "{pad}end");
    line!(rbs, "{pad}end");
}
