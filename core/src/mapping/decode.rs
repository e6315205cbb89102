//! Protobuf message → [`Value`]: every field present, unset fields with presence as null.

use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value as PValue,
};

use super::wkt;
use crate::value::{Duration, Timestamp, Value};

/// Converts a message into a [`Value::Map`] keyed by the field names as written in the `.proto`.
///
/// Every field appears: scalars unset show their default, repeated fields `[]`, maps `{}`;
/// fields with presence (messages, `optional`, oneof members, wrappers) that are unset are
/// [`Value::Null`]. Enums are their value name (or the number when the name is unknown).
pub fn from_message(msg: &DynamicMessage) -> Value {
    from_message_with(msg, DecodeOptions::default())
}

/// How [`from_message_with`] presents values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// 64-bit integer fields (`int64`, `uint64`, `sint64`, `fixed64`, `sfixed64`, their map keys
    /// and wrappers) come out as [`Value::BigInt`] decimal text instead of `Int`/`UInt`, so a
    /// binding whose language has no 64-bit integer type (JavaScript: `number` is a double) can
    /// present them as its big integer type without knowing the schema.
    pub int64_as_bigint: bool,
    /// An empty JSON object — an empty `google.protobuf.Struct`, as a field or inside a
    /// `google.protobuf.Value` — comes out as [`Value::empty_object`] instead of an empty
    /// [`Value::Map`], so a binding whose language has one type for lists and maps (PHP arrays)
    /// can present it as its object type (`stdClass`) and send `{}` back as `{}`, not `[]`.
    /// Empty messages and empty map fields stay empty maps.
    pub mark_empty_objects: bool,
}

/// [`from_message`] with [`DecodeOptions`].
pub fn from_message_with(msg: &DynamicMessage, o: DecodeOptions) -> Value {
    if let Some(v) = well_known(msg, o) {
        return v;
    }
    let desc = msg.descriptor();
    let mut out = Vec::with_capacity(desc.fields().len());
    for fd in desc.fields() {
        let value =
            if fd.supports_presence() && !fd.is_list() && !fd.is_map() && !msg.has_field(&fd) {
                Value::Null
            } else {
                field_value(&fd, &msg.get_field(&fd), o)
            };
        out.push((Value::String(fd.name().to_string()), value));
    }
    Value::Map(out)
}

pub(super) fn field_value(fd: &FieldDescriptor, v: &PValue, o: DecodeOptions) -> Value {
    match v {
        PValue::List(items) => {
            Value::List(items.iter().map(|x| single(&fd.kind(), x, o)).collect())
        }
        PValue::Map(entries) => {
            let value_kind = match fd.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other,
            };
            let mut pairs: Vec<(&MapKey, &PValue)> = entries.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, x)| (map_key(k, o), single(&value_kind, x, o)))
                    .collect(),
            )
        }
        other => single(&fd.kind(), other, o),
    }
}

fn map_key(k: &MapKey, o: DecodeOptions) -> Value {
    match k {
        MapKey::Bool(b) => Value::Bool(*b),
        MapKey::I32(i) => Value::Int((*i).into()),
        MapKey::I64(i) => wide(*i, o),
        MapKey::U32(i) => Value::Int((*i).into()),
        MapKey::U64(i) => wide(*i, o),
        MapKey::String(s) => Value::String(s.clone()),
    }
}

fn wide<T: Into<Value> + ToString>(i: T, o: DecodeOptions) -> Value {
    if o.int64_as_bigint {
        Value::BigInt(i.to_string())
    } else {
        i.into()
    }
}

fn single(kind: &Kind, v: &PValue, o: DecodeOptions) -> Value {
    match v {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(i) => Value::Int((*i).into()),
        PValue::I64(i) => wide(*i, o),
        PValue::U32(i) => Value::Int((*i).into()),
        PValue::U64(i) => wide(*i, o),
        PValue::F32(x) => Value::Float(f64::from(*x)),
        PValue::F64(x) => Value::Float(*x),
        PValue::String(s) => Value::String(s.clone()),
        PValue::Bytes(b) => Value::Bytes(b.to_vec()),
        PValue::EnumNumber(n) => match kind {
            Kind::Enum(e) => e.get_value(*n).map_or(Value::Int((*n).into()), |ev| {
                Value::String(ev.name().to_string())
            }),
            _ => Value::Int((*n).into()),
        },
        PValue::Message(m) => from_message_with(m, o),
        PValue::List(items) => Value::List(items.iter().map(|x| single(kind, x, o)).collect()),
        PValue::Map(_) => Value::Null,
    }
}

fn int_field(msg: &DynamicMessage, number: u32) -> i64 {
    match msg.get_field_by_number(number).as_deref() {
        Some(PValue::I64(i)) => *i,
        Some(PValue::I32(i)) => (*i).into(),
        _ => 0,
    }
}

fn well_known(msg: &DynamicMessage, o: DecodeOptions) -> Option<Value> {
    let desc = msg.descriptor();
    Some(match desc.full_name() {
        "google.protobuf.Timestamp" => Value::Timestamp(Timestamp {
            seconds: int_field(msg, 1),
            nanos: int_field(msg, 2) as i32,
        }),
        "google.protobuf.Duration" => Value::Duration(Duration {
            seconds: int_field(msg, 1),
            nanos: int_field(msg, 2) as i32,
        }),
        "google.protobuf.Struct" => match msg.get_field_by_number(1).as_deref() {
            Some(PValue::Map(entries)) if !entries.is_empty() || !o.mark_empty_objects => {
                let mut pairs: Vec<(&MapKey, &PValue)> = entries.iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                Value::Map(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (map_key(k, o), single(&Kind::Bool, v, o)))
                        .collect(),
                )
            }
            _ if o.mark_empty_objects => Value::empty_object(),
            _ => Value::Map(Vec::new()),
        },
        "google.protobuf.ListValue" => match msg.get_field_by_number(1).as_deref() {
            Some(PValue::List(items)) => {
                Value::List(items.iter().map(|v| single(&Kind::Bool, v, o)).collect())
            }
            _ => Value::List(Vec::new()),
        },
        "google.protobuf.Value" => {
            let set = desc.fields().find(|f| msg.has_field(f));
            match set {
                None => Value::Null,
                Some(f) => match (f.number(), msg.get_field(&f).as_ref()) {
                    (1, _) => Value::Null,
                    (_, PValue::Message(m)) => from_message_with(m, o),
                    (_, other) => single(&f.kind(), other, o),
                },
            }
        }
        name if wkt::WRAPPERS.contains(&name) => {
            let f = desc.get_field(1)?;
            single(&f.kind(), &msg.get_field(&f), o)
        }
        _ => return None,
    })
}
