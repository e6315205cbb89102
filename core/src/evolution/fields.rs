//! Field rules, on each field present in both revisions: fields of a message present in both
//! (paired by number) and extensions (paired by extendee and number). Name, JSON name, type
//! (exact, wire-compatible, wire-and-JSON-compatible), cardinality, oneof, default value and
//! the options that change generated code (`jstype`, `ctype`, UTF-8 checks).

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::field_options::{CType, JsType};

use super::defaults;
use super::image::{sub, Fld, Image, Index};
use super::{Findings, Pair};

/// One side of a field pair: the field and the image and index it lives in.
pub(super) struct Side<'s, 'a> {
    pub(super) f: &'s Fld<'a>,
    pub(super) image: &'s Image,
    pub(super) index: &'s Index<'a>,
}

impl Side<'_, '_> {
    pub(super) fn ty(&self) -> Type {
        self.f.proto.r#type()
    }

    pub(super) fn type_name(&self) -> &str {
        self.f.proto.type_name().trim_start_matches('.')
    }

    fn proto3(&self) -> bool {
        self.image.proto3(self.f.file)
    }

    fn in_map_entry(&self) -> bool {
        self.f
            .message
            .is_some_and(|m| m.options.as_ref().is_some_and(|o| o.map_entry()))
    }

    fn is_map(&self) -> bool {
        self.f.proto.label() == Label::Repeated
            && self.ty() == Type::Message
            && self
                .index
                .message_type(self.f.proto)
                .is_some_and(|m| m.proto.options.as_ref().is_some_and(|o| o.map_entry()))
    }

    /// The oneof the field is in, unless it is none or the synthetic one of a proto3 optional.
    fn oneof(&self) -> Option<&str> {
        let i = self.f.proto.oneof_index?;
        if self.f.proto.proto3_optional() {
            return None;
        }
        self.f.message?.oneof_decl.get(i as usize).map(|o| o.name())
    }

    fn cardinality(&self) -> Cardinality {
        let p = self.f.proto;
        match p.label() {
            Label::Repeated if self.is_map() => Cardinality::Map,
            Label::Repeated => Cardinality::Repeated,
            Label::Required => Cardinality::Required,
            _ if !self.proto3()
                || self.f.message.is_none()
                || p.proto3_optional()
                || p.oneof_index.is_some()
                || matches!(self.ty(), Type::Message | Type::Group) =>
            {
                Cardinality::Explicit
            }
            _ => Cardinality::Implicit,
        }
    }

    fn json_name(&self) -> String {
        match &self.f.proto.json_name {
            Some(j) => j.clone(),
            None => json_name(self.f.proto.name()),
        }
    }

    /// Where the part `step` of the field is written (its `default`, its `json_name`), or
    /// the field when that part is not written (a map's field for its entry's key and value).
    pub(super) fn at(&self, step: &[i32]) -> super::image::Place {
        let anchor = self.f.anchor.as_deref().unwrap_or_default();
        self.image.place(
            self.f.file,
            &[&sub(&self.f.path, step), &self.f.path, anchor],
        )
    }

    /// Where the field's type is written: the type name for messages, enums and groups.
    pub(super) fn type_at(&self) -> super::image::Place {
        match self.ty() {
            Type::Message | Type::Enum | Type::Group => self.at(&[6]),
            _ => self.at(&[5]),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cardinality {
    Explicit,
    Implicit,
    Required,
    Repeated,
    Map,
}

impl Cardinality {
    fn name(self) -> &'static str {
        match self {
            Cardinality::Explicit => "optional with explicit presence",
            Cardinality::Implicit => "optional with implicit presence",
            Cardinality::Required => "required",
            Cardinality::Repeated => "repeated",
            Cardinality::Map => "map",
        }
    }

    /// The group a cardinality reads alike with, on the wire (`json` false) or on the wire
    /// and in JSON: presence does not change the encoding; repeated fields and maps share one
    /// on the wire but not in JSON.
    fn group(self, json: bool) -> u8 {
        match self {
            Cardinality::Explicit | Cardinality::Implicit => 1,
            Cardinality::Required => 2,
            Cardinality::Repeated => 3,
            Cardinality::Map if json => 4,
            Cardinality::Map => 3,
        }
    }
}

pub(super) fn check(p: &Pair<'_>, out: &mut Findings) {
    for (name, old_msg) in &p.old_index.messages {
        let Some(new_msg) = p.new_index.messages.get(name) else {
            continue;
        };
        let now = p.new_index.fields_of(new_msg);
        for (number, old) in p.old_index.fields_of(old_msg) {
            if let Some(new) = now.get(&number) {
                pair(p, &old, new, out);
            }
        }
    }
    for (key, old) in &p.old_index.extensions {
        if let Some(new) = p.new_index.extensions.get(key) {
            pair(p, old, new, out);
        }
    }
}

fn pair(p: &Pair<'_>, old: &Fld<'_>, new: &Fld<'_>, out: &mut Findings) {
    let a = Side {
        f: old,
        image: p.old,
        index: p.old_index,
    };
    let b = Side {
        f: new,
        image: p.new,
        index: p.new_index,
    };
    let what = describe(new, true);
    let both_map_entries = a.in_map_entry() && b.in_map_entry();

    if !both_map_entries {
        let (before, after) = (a.cardinality(), b.cardinality());
        let changed = format!(
            "{what} changed cardinality from {:?} to {:?}.",
            before.name(),
            after.name()
        );
        if before != after {
            out.add("FIELD_SAME_CARDINALITY", b.at(&[]), changed.clone());
        }
        if before.group(false) != after.group(false) {
            out.add(
                "FIELD_WIRE_COMPATIBLE_CARDINALITY",
                b.at(&[]),
                changed.clone(),
            );
        }
        if before.group(true) != after.group(true) {
            out.add("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY", b.at(&[]), changed);
        }
        cpp_string_type(&a, &b, &what, out);
    }
    super::types::check(&a, &b, &what, out);
    strings(&a, &b, &what, out);

    let int64 = |t| {
        matches!(
            t,
            Type::Int64 | Type::Sint64 | Type::Uint64 | Type::Fixed64 | Type::Sfixed64
        )
    };
    let jstype = |s: &Side<'_, '_>| {
        s.f.proto
            .options
            .as_ref()
            .map_or(JsType::JsNormal, |o| o.jstype())
    };
    if int64(a.ty()) && int64(b.ty()) && jstype(&a) != jstype(&b) {
        out.add(
            "FIELD_SAME_JSTYPE",
            b.at(&[8, 6]),
            format!(
                "{what} changed option \"jstype\" from {:?} to {:?}.",
                jstype(&a).as_str_name(),
                jstype(&b).as_str_name()
            ),
        );
    }

    let extension = old.message.is_none();
    if !extension && a.json_name() != b.json_name() {
        out.add(
            "FIELD_SAME_JSON_NAME",
            b.at(&[10]),
            format!(
                "{what} changed option \"json_name\" from {:?} to {:?}.",
                a.json_name(),
                b.json_name()
            ),
        );
    }
    let (before, after) = if extension {
        (old.full.as_str(), new.full.as_str())
    } else {
        (old.proto.name(), new.proto.name())
    };
    if before != after {
        out.add(
            "FIELD_SAME_NAME",
            b.at(&[1]),
            format!(
                "{} changed name from {before:?} to {after:?}.",
                describe(new, false)
            ),
        );
    }
    if !extension {
        oneof(&a, &b, &what, out);
    }
    defaults::check(&a, &b, &what, out);
}

/// `FIELD_SAME_UTF8_VALIDATION` and `FIELD_SAME_JAVA_UTF8_VALIDATION` on string fields: proto3
/// strings are checked, proto2 strings are not (in Java, unless `java_string_check_utf8`).
fn strings(a: &Side<'_, '_>, b: &Side<'_, '_>, what: &str, out: &mut Findings) {
    if a.ty() != Type::String || b.ty() != Type::String {
        return;
    }
    let utf8 = |s: &Side<'_, '_>| if s.proto3() { "VERIFY" } else { "NONE" };
    if utf8(a) != utf8(b) {
        out.add(
            "FIELD_SAME_UTF8_VALIDATION",
            b.at(&[]),
            format!(
                "{what} changed UTF8 validation from {} to {}.",
                utf8(a),
                utf8(b)
            ),
        );
    }
    let java = |s: &Side<'_, '_>| {
        let checked = s.image.files()[s.f.file]
            .options
            .as_ref()
            .is_some_and(|o| o.java_string_check_utf8());
        if checked {
            "VERIFY"
        } else {
            utf8(s)
        }
    };
    if java(a) != java(b) {
        out.add(
            "FIELD_SAME_JAVA_UTF8_VALIDATION",
            b.image.place(b.f.file, &[&[8, 27], &b.f.path]),
            format!(
                "{what} changed Java string UTF8 validation from {:?} to {:?}.",
                java(a),
                java(b)
            ),
        );
    }
}

/// `FIELD_SAME_CPP_STRING_TYPE`: the `ctype` of a string or bytes field; `STRING_PIECE` may
/// become `STRING`.
fn cpp_string_type(a: &Side<'_, '_>, b: &Side<'_, '_>, what: &str, out: &mut Findings) {
    let text = |t| matches!(t, Type::String | Type::Bytes);
    if !text(a.ty()) || !text(b.ty()) {
        return;
    }
    let ctype = |s: &Side<'_, '_>| {
        s.f.proto
            .options
            .as_ref()
            .map_or(CType::String, |o| o.ctype())
    };
    let (before, after) = (ctype(a), ctype(b));
    if before != after && !(before == CType::StringPiece && after == CType::String) {
        out.add(
            "FIELD_SAME_CPP_STRING_TYPE",
            b.at(&[8, 1]),
            format!(
                "{what} changed C++ string type from {:?} to {:?}.",
                before.as_str_name(),
                after.as_str_name()
            ),
        );
    }
}

/// `FIELD_SAME_ONEOF`: a field stays in the same oneof, or out of every oneof.
fn oneof(a: &Side<'_, '_>, b: &Side<'_, '_>, what: &str, out: &mut Findings) {
    let message = match (a.oneof(), b.oneof()) {
        (None, None) => return,
        (Some(x), Some(y)) if x == y => return,
        (Some(x), Some(y)) => format!("{what} moved from oneof {x:?} to oneof {y:?}."),
        (Some(_), None) => format!("{what} moved from inside to outside a oneof."),
        (None, Some(_)) => format!("{what} moved from outside to inside a oneof."),
    };
    out.add("FIELD_SAME_ONEOF", b.at(&[]), message);
}

/// `Field "3" with name "count" on message "Item"` (or `Extension …`), as buf words it.
pub(super) fn describe(f: &Fld<'_>, with_name: bool) -> String {
    let (kind, name, on) = match f.message {
        Some(m) => ("Field", f.proto.name(), m.name()),
        None => ("Extension", f.full.as_str(), f.proto.extendee()),
    };
    let on = on.trim_start_matches('.');
    if with_name {
        format!(
            "{kind} \"{}\" with name {name:?} on message {on:?}",
            f.proto.number()
        )
    } else {
        format!("{kind} \"{}\" on message {on:?}", f.proto.number())
    }
}

/// protoc's default JSON name: lowerCamelCase of the field name (`foo_bar` -> `fooBar`).
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
