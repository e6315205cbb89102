//! Message rules, on each message present in both revisions (paired by full name): its field
//! numbers, oneofs, reserved and extension ranges, required fields, JSON support and the
//! `no_standard_descriptor_accessor` option.

use std::collections::BTreeSet;

use prost_types::DescriptorProto;

use super::fields::describe;
use super::image::{Msg, Place};
use super::ranges::{self, Ranges, MESSAGE_MAX, MESSAGE_SET_MAX};
use super::{Findings, Pair};

pub(super) fn check(p: &Pair<'_>, out: &mut Findings) {
    for (name, old) in &p.old_index.messages {
        if let Some(new) = p.new_index.messages.get(name) {
            pair(p, old, new, out);
        }
    }
}

fn pair(p: &Pair<'_>, old: &Msg<'_>, new: &Msg<'_>, out: &mut Findings) {
    let here = p.new.place(new.file, &[&new.path]);
    let name = new.proto.name();
    deleted_fields(p, old, new, &here, out);

    let oneofs: BTreeSet<&str> = new.proto.oneof_decl.iter().map(|o| o.name()).collect();
    for (i, oneof) in old.proto.oneof_decl.iter().enumerate() {
        if !oneofs.contains(oneof.name()) && !synthetic(old.proto, i) {
            out.add(
                "ONEOF_NO_DELETE",
                here.clone(),
                format!(
                    "Previously present oneof {:?} on message {name:?} was deleted.",
                    oneof.name()
                ),
            );
        }
    }

    let max = if message_set(new.proto) {
        MESSAGE_SET_MAX
    } else {
        MESSAGE_MAX
    };
    // Descriptors give a message's ranges with an exclusive end.
    let inclusive = |r: (i32, i32)| (i64::from(r.0), i64::from(r.1) - 1);
    let reserved = |m: &DescriptorProto| -> Vec<(i64, i64)> {
        let r = m.reserved_range.iter();
        r.map(|r| inclusive((r.start(), r.end()))).collect()
    };
    let extension = |m: &DescriptorProto| -> Vec<(i64, i64)> {
        let r = m.extension_range.iter();
        r.map(|r| inclusive((r.start(), r.end()))).collect()
    };
    let on = format!("message {name:?}");
    let rule = |rule, what| Ranges {
        rule,
        what,
        on: on.clone(),
        max,
    };
    ranges::check(
        out,
        &rule("RESERVED_MESSAGE_NO_DELETE", "reserved"),
        &here,
        &reserved(old.proto),
        &reserved(new.proto),
    );
    reserved_names(
        out,
        "RESERVED_MESSAGE_NO_DELETE",
        &on,
        &here,
        &old.proto.reserved_name,
        &new.proto.reserved_name,
    );
    ranges::check(
        out,
        &rule("EXTENSION_MESSAGE_NO_DELETE", "extension"),
        &here,
        &extension(old.proto),
        &extension(new.proto),
    );

    required_fields(p, old, new, &here, out);

    let accessor = |m: &DescriptorProto| {
        m.options
            .as_ref()
            .is_some_and(|o| o.no_standard_descriptor_accessor())
    };
    if !accessor(old.proto) && accessor(new.proto) {
        out.add(
            "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
            p.new.place(new.file, &[&super::image::sub(&new.path, &[7, 2])]),
            "Message option \"no_standard_descriptor_accessor\" changed from \"false\" to \"true\"."
                .into(),
        );
    }

    // Without editions, proto3 messages have full JSON support and proto2 ones best effort.
    if p.old.proto3(old.file) && !p.new.proto3(new.file) {
        out.add(
            "MESSAGE_SAME_JSON_FORMAT",
            here,
            format!(
                "Message {name:?} JSON format support changed from ALLOW to LEGACY_BEST_EFFORT."
            ),
        );
    }
}

/// `FIELD_NO_DELETE` and its two lenient forms (unless the number, or the name, is reserved).
fn deleted_fields(p: &Pair<'_>, old: &Msg<'_>, new: &Msg<'_>, here: &Place, out: &mut Findings) {
    let now = p.new_index.fields_of(new);
    for (number, f) in p.old_index.fields_of(old) {
        if now.contains_key(&number) {
            continue;
        }
        let what = describe(&f, true);
        let what = format!("{}{}", what[..1].to_lowercase(), &what[1..]);
        out.add(
            "FIELD_NO_DELETE",
            here.clone(),
            format!("Previously present {what} was deleted."),
        );
        let number_reserved = new
            .proto
            .reserved_range
            .iter()
            .any(|r| (r.start()..r.end()).contains(&number));
        if !number_reserved {
            out.add(
                "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                here.clone(),
                format!("Previously present {what} was deleted without reserving the number \"{number}\"."),
            );
        }
        let name = f.proto.name();
        if !new.proto.reserved_name.iter().any(|n| n == name) {
            out.add(
                "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                here.clone(),
                format!(
                    "Previously present {what} was deleted without reserving the name {name:?}."
                ),
            );
        }
    }
}

/// `MESSAGE_SAME_REQUIRED_FIELDS`: proto2 `required` fields are neither added nor deleted.
fn required_fields(p: &Pair<'_>, old: &Msg<'_>, new: &Msg<'_>, here: &Place, out: &mut Findings) {
    let required = |m: &Msg<'_>| -> BTreeSet<i32> {
        m.proto
            .field
            .iter()
            .filter(|f| f.label() == prost_types::field_descriptor_proto::Label::Required)
            .map(|f| f.number())
            .collect()
    };
    let (before, after) = (required(old), required(new));
    let why = "Required fields must always be sent, so if one side does not know about the required field, this will result in a breakage.";
    for n in before.difference(&after) {
        out.add(
            "MESSAGE_SAME_REQUIRED_FIELDS",
            here.clone(),
            format!(
                "Message {:?} had required field \"{n}\" deleted. {why}",
                old.proto.name()
            ),
        );
    }
    let fields = p.new_index.fields_of(new);
    for n in after.difference(&before) {
        let at = fields.get(n).map(|f| f.path.clone()).unwrap_or_default();
        out.add(
            "MESSAGE_SAME_REQUIRED_FIELDS",
            p.new.place(new.file, &[&at]),
            format!(
                "Message {:?} had required field \"{n}\" added. {why}",
                new.proto.name()
            ),
        );
    }
}

/// `RESERVED_*_NO_DELETE` for names: every old reserved name is still reserved.
pub(super) fn reserved_names(
    out: &mut Findings,
    rule: &'static str,
    on: &str,
    here: &Place,
    old: &[String],
    new: &[String],
) {
    for name in old.iter().collect::<BTreeSet<_>>() {
        if !new.contains(name) {
            out.add(
                rule,
                here.clone(),
                format!("Previously present reserved name {name:?} on {on} was deleted."),
            );
        }
    }
}

/// Whether oneof `index` of `m` is the synthetic oneof of a proto3 `optional` field.
pub(super) fn synthetic(m: &DescriptorProto, index: usize) -> bool {
    m.field
        .iter()
        .any(|f| f.oneof_index == Some(index as i32) && f.proto3_optional())
}

fn message_set(m: &DescriptorProto) -> bool {
    m.options
        .as_ref()
        .is_some_and(|o| o.message_set_wire_format())
}
