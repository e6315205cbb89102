//! Rust oneofs of the generated code (`hms-ffi gen --lang rust`, [`super::rust`]), as prost
//! writes them: a oneof is an `enum` with a variant per member (named as prost names it,
//! `Text(String)`), in a module named after its message (`all_types::Choice`), and the message
//! holds `Option<all_types::Choice>` (`None` when no member is set). The binding's value still
//! has every member, the unset ones null: `from_value` takes the member that is set, and
//! `to_value` writes the set one and null for the others. The core rejects a value that sets
//! two, so reading the first set one loses nothing.

use super::model::{Field, Message, Type};
use super::{oneofs, pascal, snake};

/// The module of `m`'s oneof enums (`all_types` for `AllTypes`).
fn module(m: &Message) -> String {
    snake(&m.name)
}

/// The enum of oneof `o` of `m`, as the message's fields name it (`all_types::Choice`).
fn enum_path(m: &Message, o: &str) -> String {
    format!("{}::{}", module(m), pascal(o))
}

/// The type of a member's value inside the module (`super::Item`; a message that holds
/// itself is boxed, as a singular field of it is).
fn member_type(m: &Message, f: &Field) -> String {
    let t = super::rust::rs_type(&f.ty);
    match &f.ty {
        Type::Message(n) if *n == m.name => format!("Box<super::{t}>"),
        Type::Message(_) | Type::Enum(_) => format!("super::{t}"),
        _ => t,
    }
}

/// The field the message holds for oneof `o`: its name and its type.
pub(super) fn field(m: &Message, o: &str) -> (String, String) {
    (super::rust_field(o), format!("Option<{}>", enum_path(m, o)))
}

/// The module of `m`'s oneof enums, written after the message (nothing when it has none).
pub(super) fn enums(out: &mut String, m: &Message) {
    let all = oneofs(m);
    if all.is_empty() {
        return;
    }
    line!(out);
    line!(out, "/// The oneofs of [`{}`].", m.name);
    line!(out, "pub mod {} {{", module(m));
    line!(out, "    #[allow(unused_imports)]");
    line!(out, "    use super::*;");
    for (o, members) in all {
        line!(out);
        line!(
            out,
            "    /// The oneof `{o}` of `{}`: the member that is set.",
            m.full_name
        );
        line!(out, "    #[derive(Debug, Clone, PartialEq)]");
        line!(out, "    pub enum {} {{", pascal(o));
        for f in members {
            super::rust::rustdoc(out, &f.doc, "        ");
            line!(out, "        {}({}),", pascal(&f.name), member_type(m, f));
        }
        line!(out, "    }}");
    }
    line!(out, "}}");
}

/// The expression reading oneof `o` of `m` from `v` (the binding's value): the first member
/// that is set, or `None`.
pub(super) fn read(m: &Message, o: &str) -> String {
    let members: Vec<String> = m
        .fields
        .iter()
        .filter(|f| f.oneof.as_deref() == Some(o))
        .map(|f| {
            let read = match &f.ty {
                Type::Message(n) if *n == m.name => "Box::new(HmsMessage::from_value(v))",
                _ => "HmsMessage::from_value(v)",
            };
            let variant = format!("{}::{}", enum_path(m, o), pascal(&f.name));
            format!("opt(v.get(\"{}\")).map(|v| {variant}({read}))", f.name)
        })
        .collect();
    members.join("\n                .or_else(|| ") + &")".repeat(members.len().saturating_sub(1))
}

/// The expression writing member `f` of its oneof: its value when it is the one set, else null.
pub(super) fn write(m: &Message, f: &Field) -> String {
    let o = f.oneof.as_deref().unwrap_or_default();
    format!(
        "match &self.{} {{ Some({}::{}(v)) => v.to_value(), _ => Value::Null }}",
        super::rust_field(o),
        enum_path(m, o),
        pascal(&f.name)
    )
}
