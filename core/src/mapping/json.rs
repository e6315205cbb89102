//! JSON text ⇄ [`Value`] (for the `json` codec and the CLI) and the canonical protobuf JSON form.

use base64::Engine;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use super::{from_message, to_message, wkt, MapOptions};
use crate::error::{Code, Error, Result};
use crate::value::Value;

/// Plain JSON → [`Value`]: integers that fit 64 bits stay integers, other numbers are floats.
pub fn json_to_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(json_to_value).collect()),
        serde_json::Value::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (Value::String(k.clone()), json_to_value(v)))
                .collect(),
        ),
    }
}

/// [`Value`] → plain JSON: bytes as base64, timestamps and durations in their protobuf JSON
/// text, non-finite floats as `"NaN"`/`"Infinity"`, map keys as text.
pub fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::BigInt(s) => J::String(s.clone()),
        Value::Float(x) if x.is_nan() => J::String("NaN".into()),
        Value::Float(x) if x.is_infinite() => {
            J::String(if *x > 0.0 { "Infinity" } else { "-Infinity" }.into())
        }
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(items) => J::Array(items.iter().map(value_to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => match value_to_json(other) {
                            J::String(s) => s,
                            j => j.to_string(),
                        },
                    };
                    (key, value_to_json(v))
                })
                .collect(),
        ),
        Value::Timestamp(t) => J::String(wkt::format_timestamp(*t)),
        Value::Duration(d) => J::String(wkt::format_duration(*d)),
        Value::Unsupported(_) => J::Null,
    }
}

/// Parses protobuf JSON text (lowerCamelCase or proto field names) into a message of `desc`,
/// reporting every violation with its path.
pub fn message_from_json(
    desc: &MessageDescriptor,
    text: &str,
    max_depth: usize,
) -> Result<DynamicMessage> {
    let j: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::new(Code::InvalidArgument, format!("invalid JSON: {e}")).with_reason("INVALID_JSON")
    })?;
    let opts = MapOptions {
        json: true,
        max_depth,
    };
    to_message(desc, &json_to_value(&j), &opts)
}

/// Writes a message as canonical protobuf JSON (lowerCamelCase names; defaults omitted unless
/// `emit_defaults`).
pub fn message_to_json(msg: &DynamicMessage, emit_defaults: bool) -> Result<String> {
    let opts = SerializeOptions::new().skip_default_fields(!emit_defaults);
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    msg.serialize_with_options(&mut ser, &opts)
        .map_err(|e| Error::internal(format!("cannot write JSON: {e}")))?;
    String::from_utf8(out).map_err(|e| Error::internal(format!("cannot write JSON: {e}")))
}

/// A message as a [`Value`] and then plain JSON with the `.proto` field names.
pub fn message_to_plain_json(msg: &DynamicMessage) -> serde_json::Value {
    value_to_json(&from_message(msg))
}
