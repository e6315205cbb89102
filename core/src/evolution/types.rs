//! Field type rules, on each field pair: `FIELD_SAME_TYPE` (the same type, and the same message
//! or enum type name), `FIELD_WIRE_COMPATIBLE_TYPE` (a type whose binary encoding the old one
//! reads) and `FIELD_WIRE_JSON_COMPATIBLE_TYPE` (a type whose binary and JSON encodings both
//! read alike). An enum may become another enum of the same name that keeps every old value.

use prost_types::field_descriptor_proto::Type;

use super::fields::Side;
use super::Findings;

/// `FIELD_SAME_TYPE`, `FIELD_WIRE_COMPATIBLE_TYPE`, `FIELD_WIRE_JSON_COMPATIBLE_TYPE`.
pub(super) fn check(a: &Side<'_, '_>, b: &Side<'_, '_>, what: &str, out: &mut Findings) {
    let (ta, tb) = (a.ty(), b.ty());
    let kind_changed = format!(
        "{what} changed type from {:?} to {:?}.",
        kind_name(ta),
        kind_name(tb)
    );
    let name_changed = format!(
        "{what} changed type from {:?} to {:?}.",
        a.type_name(),
        b.type_name()
    );
    let named = matches!(tb, Type::Message | Type::Enum | Type::Group);
    let name_differs = named && a.type_name() != b.type_name();
    if ta != tb {
        out.add("FIELD_SAME_TYPE", b.type_at(), kind_changed.clone());
    } else if name_differs {
        out.add("FIELD_SAME_TYPE", b.type_at(), name_changed.clone());
    }

    let rules = [
        ("FIELD_WIRE_COMPATIBLE_TYPE", false),
        ("FIELD_WIRE_JSON_COMPATIBLE_TYPE", true),
    ];
    for (rule, json) in rules {
        if group(ta, json) != group(tb, json) {
            // string -> bytes reads the same bytes; bytes -> string may not be UTF-8.
            if !json && ta == Type::String && tb == Type::Bytes {
                continue;
            }
            out.add(rule, b.type_at(), kind_changed.clone());
        } else if name_differs && (tb != Type::Enum || !enum_superset(a, b)) {
            out.add(rule, b.type_at(), name_changed.clone());
        }
    }
}

/// Whether an enum type change keeps every old value: the same short name, and each old
/// value's name with the same number.
fn enum_superset(a: &Side<'_, '_>, b: &Side<'_, '_>) -> bool {
    let (Some(old), Some(new)) = (
        a.index.enums.get(a.type_name()),
        b.index.enums.get(b.type_name()),
    ) else {
        return false;
    };
    old.proto.name() == new.proto.name()
        && old.proto.value.iter().all(|v| {
            new.proto
                .value
                .iter()
                .any(|w| w.name() == v.name() && w.number() == v.number())
        })
}

/// The groups of types that read each other's encoding (`json` false: on the wire; true: on
/// the wire and in JSON).
fn group(t: Type, json: bool) -> u8 {
    use Type::*;
    if !json {
        return match t {
            Int32 | Int64 | Uint32 | Uint64 | Bool => 1,
            Sint32 | Sint64 => 2,
            String => 3,
            Bytes => 4,
            Fixed32 | Sfixed32 => 5,
            Fixed64 | Sfixed64 => 6,
            Double => 7,
            Float => 8,
            Group => 9,
            Message => 10,
            Enum => 11,
        };
    }
    match t {
        Int32 | Uint32 => 1,
        Int64 | Uint64 => 2,
        Fixed32 | Sfixed32 => 3,
        Fixed64 | Sfixed64 => 4,
        Bool => 5,
        Sint32 => 6,
        Sint64 => 7,
        String => 8,
        Bytes => 9,
        Double => 10,
        Float => 11,
        Group => 12,
        Message => 13,
        Enum => 14,
    }
}

/// The type's name as buf prints it (`int32`, `message`, `enum`).
fn kind_name(t: Type) -> String {
    t.as_str_name()
        .trim_start_matches("TYPE_")
        .to_ascii_lowercase()
}
