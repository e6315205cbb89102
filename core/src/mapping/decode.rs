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
    if let Some(v) = well_known(msg) {
        return v;
    }
    let desc = msg.descriptor();
    let mut out = Vec::with_capacity(desc.fields().len());
    for fd in desc.fields() {
        let value =
            if fd.supports_presence() && !fd.is_list() && !fd.is_map() && !msg.has_field(&fd) {
                Value::Null
            } else {
                field_value(&fd, &msg.get_field(&fd))
            };
        out.push((Value::String(fd.name().to_string()), value));
    }
    Value::Map(out)
}

fn field_value(fd: &FieldDescriptor, v: &PValue) -> Value {
    match v {
        PValue::List(items) => Value::List(items.iter().map(|x| single(&fd.kind(), x)).collect()),
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
                    .map(|(k, x)| (map_key(k), single(&value_kind, x)))
                    .collect(),
            )
        }
        other => single(&fd.kind(), other),
    }
}

fn map_key(k: &MapKey) -> Value {
    match k {
        MapKey::Bool(b) => Value::Bool(*b),
        MapKey::I32(i) => Value::Int((*i).into()),
        MapKey::I64(i) => Value::Int(*i),
        MapKey::U32(i) => Value::Int((*i).into()),
        MapKey::U64(i) => Value::from(*i),
        MapKey::String(s) => Value::String(s.clone()),
    }
}

fn single(kind: &Kind, v: &PValue) -> Value {
    match v {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(i) => Value::Int((*i).into()),
        PValue::I64(i) => Value::Int(*i),
        PValue::U32(i) => Value::Int((*i).into()),
        PValue::U64(i) => Value::from(*i),
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
        PValue::Message(m) => from_message(m),
        PValue::List(items) => Value::List(items.iter().map(|x| single(kind, x)).collect()),
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

fn well_known(msg: &DynamicMessage) -> Option<Value> {
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
            Some(PValue::Map(entries)) => {
                let mut pairs: Vec<(&MapKey, &PValue)> = entries.iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                Value::Map(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (map_key(k), single(&Kind::Bool, v)))
                        .collect(),
                )
            }
            _ => Value::Map(Vec::new()),
        },
        "google.protobuf.ListValue" => match msg.get_field_by_number(1).as_deref() {
            Some(PValue::List(items)) => {
                Value::List(items.iter().map(|v| single(&Kind::Bool, v)).collect())
            }
            _ => Value::List(Vec::new()),
        },
        "google.protobuf.Value" => {
            let set = desc.fields().find(|f| msg.has_field(f));
            match set {
                None => Value::Null,
                Some(f) => match (f.number(), msg.get_field(&f).as_ref()) {
                    (1, _) => Value::Null,
                    (_, PValue::Message(m)) => from_message(m),
                    (_, other) => single(&f.kind(), other),
                },
            }
        }
        name if wkt::WRAPPERS.contains(&name) => {
            let f = desc.get_field(1)?;
            single(&f.kind(), &msg.get_field(&f))
        }
        _ => return None,
    })
}
