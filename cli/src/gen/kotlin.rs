//! Kotlin: one file per package (`demo/v1/DemoV1Hms.kt`, package `demo.v1`) of data classes,
//! enum classes, typed clients (blocking and `suspend`) and service interfaces over the
//! `io.github.hmsffi` package.
//!
//! A message is a data class with a default for every field (so `HelloRequest(name = "Ada")`,
//! and a misspelt name does not compile), read from the `Map` the binding gives (`fromValue`)
//! and turned back into one (`toValue`). Values are the binding's (`TypedJson`): `Long` for
//! integers, narrowed to `Int`, `UInt` or `ULong` by the field; `Double`; `ByteArray`;
//! `java.time.Instant` and `java.time.Duration`; fields with presence are nullable. Enums are
//! enum classes travelling by name. A field a built-in converter makes native has its type
//! (`java.math.BigDecimal`, `io.github.hmsffi.Money`, `java.time.LocalDate`, `java.util.UUID`;
//! nullable when singular), as the binding's default converters give it. A service is an interface whose methods default to
//! `UNIMPLEMENTED`, registered by `register(server, impl)`; streaming methods are typed over the
//! binding's streams and `Flow`s ([`super::kotlin_stream`]). A oneof is one nullable property
//! of a `sealed interface` nested in its message, a data class per member
//! (`AllTypes.Choice.Text`), converted to and from the binding's every-member form.

use super::docs::{block, join};
use super::kotlin_stream::{self, streaming};
use super::kotlin_types::{
    field_type, kt_name, kt_type, member_type, nullable, read, read_key, read_value, write,
    write_value, zero,
};
use super::model::{Field, Message, Package, Service, Shape, Type};
use super::{camel, first_member, oneofs, pascal, unary, Output, GENERATED};

pub(crate) fn generate(p: &Package) -> Vec<Output> {
    let package = package(p);
    let mut out = String::new();
    line!(out, "// {GENERATED}");
    line!(out, "// source: {}", p.files.join(", "));
    line!(out, "@file:Suppress(\"RedundantVisibilityModifier\")");
    line!(out);
    line!(out, "package {package}");
    line!(out);
    line!(out, "import io.github.hmsffi.CallContext");
    line!(out, "import io.github.hmsffi.Client");
    line!(out, "import io.github.hmsffi.Code");
    line!(out, "import io.github.hmsffi.Server");
    line!(out, "import io.github.hmsffi.hmsError");
    for i in kotlin_stream::imports(p) {
        line!(out, "import {i}");
    }
    for e in &p.enums {
        line!(out);
        out.push_str(&block(
            &join(
                &e.doc,
                &format!("The enum {}; it travels by value name.", e.full_name),
            ),
            "",
        ));
        line!(out, "public enum class {} {{", e.name);
        for v in &e.values {
            out.push_str(&block(&v.doc, "    "));
            line!(out, "    {},", v.name);
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
    let parts: Vec<String> = package.split('.').map(pascal).collect();
    vec![Output {
        path: format!("{}/{}Hms.kt", package.replace('.', "/"), parts.concat()),
        content: out,
    }]
}

fn message(out: &mut String, m: &Message, p: &Package) {
    let n = &m.name;
    line!(out);
    out.push_str(&block(
        &join(&m.doc, &format!("The message {}.", m.full_name)),
        "",
    ));
    if m.fields.is_empty() {
        line!(out, "public class {n} {{");
    } else {
        line!(out, "public data class {n}(");
        for f in &m.fields {
            match f.oneof.as_deref() {
                Some(o) if first_member(m, f) => {
                    let doc = format!("The oneof `{o}`: the member set, or null when none is.");
                    out.push_str(&block(&doc, "    "));
                    line!(out, "    val {}: {}? = null,", kt_name(o), pascal(o));
                }
                Some(_) => {}
                None => {
                    out.push_str(&block(&f.doc, "    "));
                    line!(
                        out,
                        "    val {}: {} = {},",
                        kt_name(&f.name),
                        field_type(f),
                        zero(f)
                    );
                }
            }
        }
        line!(out, ") {{");
    }
    line!(
        out,
        "    /** This message as the value the binding sends (null leaves a field unset). */"
    );
    let entries: Vec<String> = m
        .fields
        .iter()
        .map(|f| {
            let x = kt_name(&f.name);
            if let Some(o) = &f.oneof {
                let member = format!(
                    "({} as? {}.{})?.{x}",
                    kt_name(o),
                    pascal(o),
                    pascal(&f.name)
                );
                let value = match write_value(f, "it").as_str() {
                    "it" => member,
                    w => format!("{member}?.let {{ {w} }}"),
                };
                return format!("\"{}\" to {value}", f.name);
            }
            let value = match &f.shape {
                Shape::Single { .. } if nullable(f) => match write_value(f, "it").as_str() {
                    "it" => x.clone(),
                    w => format!("{x}?.let {{ {w} }}"),
                },
                Shape::Single { .. } => write(&f.ty, &x),
                Shape::Repeated => format!("{x}.map {{ {} }}", write_value(f, "it")),
                Shape::Map(_) => format!(
                    "{x}.entries.associate {{ (k, v) -> k.toString() to {} }}",
                    write_value(f, "v")
                ),
            };
            format!("\"{}\" to {value}", f.name)
        })
        .collect();
    line!(
        out,
        "    public fun toValue(): Map<String, Any?> = mapOf({})",
        entries.join(", ")
    );
    for (o, members) in oneofs(m) {
        oneof_class(out, o, &members, &package(p));
    }
    line!(out);
    line!(out, "    public companion object {{");
    line!(
        out,
        "        /** Reads a {n} from a value the binding gives (a `Map` by field name). */"
    );
    let args: Vec<String> = m
        .fields
        .iter()
        .filter(|f| f.oneof.is_none() || first_member(m, f))
        .map(|f| {
            if let Some(o) = &f.oneof {
                let read: Vec<String> = m
                    .fields
                    .iter()
                    .filter(|g| g.oneof == f.oneof)
                    .map(|g| {
                        let x = read_value(g, &format!("v[\"{}\"]", g.name));
                        format!("{x}?.let {{ {}.{}(it) }}", pascal(o), pascal(&g.name))
                    })
                    .collect();
                return format!("            {} = {},", kt_name(o), read.join("\n                ?: "));
            }
            let x = format!("v[\"{}\"]", f.name);
            let value = match &f.shape {
                Shape::Single { .. } if nullable(f) => read_value(f, &x),
                Shape::Single { .. } if matches!(f.ty, Type::JsonValue) => x,
                Shape::Single { .. } => format!("{} ?: {}", read(&f.ty, &x), zero(f)),
                Shape::Repeated => format!("({x} as? List<*>)?.mapNotNull {{ {} }} ?: emptyList()", read_value(f, "it")),
                Shape::Map(k) => format!(
                    "({x} as? Map<*, *>)?.entries?.mapNotNull {{ (k, e) -> {}?.let {{ {} to it }} }}?.toMap() ?: emptyMap()",
                    read_value(f, "e"),
                    read_key(k)
                ),
            };
            format!("            {} = {value},", kt_name(&f.name))
        })
        .collect();
    if args.is_empty() {
        line!(
            out,
            "        public fun fromValue(v: Map<*, *>): {n} = {n}().also {{ v.size }}"
        );
    } else {
        line!(
            out,
            "        public fun fromValue(v: Map<*, *>): {n} = {n}(\n{}\n        )",
            args.join("\n")
        );
    }
    line!(out, "    }}");
    line!(out, "}}");
}

/// The Kotlin package of a protobuf package (`root` for none).
fn package(p: &Package) -> String {
    if p.name.is_empty() {
        "root".to_string()
    } else {
        p.name.clone()
    }
}

/// The sealed interface of a oneof, nested in its message: a data class per member, whose
/// type is written in full (a member class named `Item` or `String` shadows the type's name).
fn oneof_class(out: &mut String, o: &str, members: &[&Field], package: &str) {
    line!(out);
    let doc = format!("The oneof `{o}`: a value of one of its members.");
    out.push_str(&block(&doc, "    "));
    line!(out, "    public sealed interface {} {{", pascal(o));
    for f in members {
        out.push_str(&block(&f.doc, "        "));
        line!(
            out,
            "        public data class {}(val {}: {}) : {}",
            pascal(&f.name),
            kt_name(&f.name),
            member_type(f, package),
            pascal(o)
        );
    }
    line!(out, "    }}");
}

/// `x` (a request or reply object) as the value the binding sends.
pub(super) fn to_value(t: &Type, x: &str) -> String {
    match t {
        Type::Message(_) => format!("{x}.toValue()"),
        _ => x.to_string(),
    }
}

/// The object of type `t` read from `x`, a `Map` the binding gives.
pub(super) fn from_value(t: &Type, x: &str) -> String {
    match t {
        Type::Message(n) => format!("{n}.fromValue({x})"),
        _ => x.to_string(),
    }
}

fn client(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!(
        "Typed calls of {} over a [Client]; `timeout` and `metadata` apply to every call.",
        s.full_name
    );
    out.push_str(&block(&join(&s.doc, &doc), ""));
    line!(out, "public class {n}Client(");
    line!(out, "    public val client: Client,");
    line!(out, "    public val timeout: java.time.Duration? = null,");
    line!(
        out,
        "    public val metadata: Map<String, String> = emptyMap(),"
    );
    line!(out, ") {{");
    for m in unary(s) {
        let (req, rep) = (kt_type(&m.input), kt_type(&m.output));
        let name = camel(&m.name);
        let sent = to_value(&m.input, "request");
        out.push_str(&block(&m.doc, "    "));
        line!(out, "    public fun {name}(request: {req}): {rep} =");
        line!(
            out,
            "        {}",
            from_value(
                &m.output,
                &format!("client.call(\"{}\", {sent}, timeout, metadata)", m.path)
            )
        );
        line!(out);
        line!(
            out,
            "    /** [{name}] as a suspending call: cancelling the coroutine cancels the call. */"
        );
        line!(
            out,
            "    public suspend fun {name}Async(request: {req}): {rep} ="
        );
        line!(
            out,
            "        {}",
            from_value(
                &m.output,
                &format!(
                    "client.callAsync(\"{}\", {sent}, timeout, metadata)",
                    m.path
                )
            )
        );
    }
    for m in streaming(s) {
        line!(out);
        kotlin_stream::client_method(out, m);
    }
    line!(out, "}}");
}

fn service(out: &mut String, s: &Service) {
    let n = &s.name;
    line!(out);
    let doc = format!("The server side of {}: implement the methods (the others fail with UNIMPLEMENTED) and\ncall `{n}Service.register(server, impl)`.", s.full_name);
    out.push_str(&block(&join(&s.doc, &doc), ""));
    line!(out, "public interface {n}Service {{");
    for m in unary(s) {
        let (req, rep) = (kt_type(&m.input), kt_type(&m.output));
        out.push_str(&block(&m.doc, "    "));
        line!(
            out,
            "    public fun {}(request: {req}, ctx: CallContext): {rep} =",
            camel(&m.name)
        );
        line!(
            out,
            "        throw hmsError(Code.UNIMPLEMENTED, \"{} is not implemented\")",
            m.path
        );
        line!(out);
    }
    for m in streaming(s) {
        kotlin_stream::service_method(out, m);
    }
    line!(out, "    public companion object {{");
    line!(
        out,
        "        /** Registers every method of {} with [server], served by [impl]. */",
        s.full_name
    );
    line!(
        out,
        "        public fun register(server: Server, impl: {n}Service) {{"
    );
    for m in unary(s) {
        let call = format!(
            "impl.{}({}, ctx)",
            camel(&m.name),
            from_value(&m.input, "req")
        );
        line!(
            out,
            "            server.method(\"{}\") {{ req, ctx -> {} }}",
            m.path,
            to_value(&m.output, &call)
        );
    }
    for m in streaming(s) {
        kotlin_stream::register(out, m);
    }
    line!(out, "        }}");
    line!(out, "    }}");
    line!(out, "}}");
}
