//! Typed JSON: a [`Value`] tree written as JSON text, with tagged objects for what plain JSON
//! cannot say (64-bit integers, bytes, non-finite floats, timestamps, durations).
//!
//! It is the value notation of the shared conformance vectors (`tests/conformance/README.md`)
//! and the request/reply text of the UniFFI binding (Kotlin, Swift). Unlike protobuf JSON
//! ([`super::json`]), it is read in native mode: the same rules as a Python dict or a Go map.
//!
//! | JSON | [`Value`] |
//! | --- | --- |
//! | `null`, `true`, `"text"`, `[...]`, `{...}` | `Null`, `Bool`, `String`, `List`, `Map` (string keys) |
//! | integer (`7`) / number with `.` or exponent (`7.0`) | `Int` (or `UInt`) / `Float` |
//! | `{"$int": "18446744073709551615"}` | `Int`, `UInt`, or `BigInt` when beyond 64 bits |
//! | `{"$float": "nan" \| "inf" \| "-inf" \| "1.5"}` | `Float` |
//! | `{"$bytes": "<standard base64>"}` | `Bytes` |
//! | `{"$timestamp": "2024-02-29T12:34:56.789Z"}` | `Timestamp` |
//! | `{"$duration": "1.5s"}` | `Duration` |
//! | `{"$bytes_fill": {"byte": 120, "len": 3}}`, `{"$string_fill": {"text": "ab", "count": 2}}` | `Bytes`, `String` (compact forms for large test payloads) |
//! | `{"$nest_list": 3}` | `[[[[]]]]`: an empty list inside that many lists (at most [`NEST_LIST_CAP`]) |
//! | `{"$converted": {"index": 0, "value": …}}` (written only) | a value the core's walk converted ([`marked`](super::marked) with the converter's index): the binding hands `value` to that converter |
//!
//! [`to_text`] writes integers beyond ±2^53 as `$int` so that readers that hold every number as
//! a double (JavaScript, Swift's `JSONSerialization`) lose nothing.

use base64::Engine;
use serde_json::Value as J;

use super::wkt;
use crate::error::{Code, Error, Result};
use crate::value::Value;

/// Largest integer a double holds exactly (2^53).
const EXACT: i64 = 1 << 53;

fn bad(what: String) -> Error {
    Error::new(Code::InvalidArgument, what).with_reason("INVALID_JSON")
}

/// The most levels `$nest_list` builds (see [`from_json`]).
pub const NEST_LIST_CAP: u64 = 1_000;

/// Parses typed JSON text into a value; malformed text or tags are `InvalidArgument`, and
/// nesting deeper than serde_json's 128 levels is `ResourceExhausted` (`NESTING_TOO_DEEP`).
pub fn from_text(text: &str) -> Result<Value> {
    let j: J = serde_json::from_str(text).map_err(|e| {
        // serde_json stops at 128 levels: text nested that deep is refused as any native value.
        if e.to_string().contains("recursion limit") {
            Error::resource_exhausted(
                "NESTING_TOO_DEEP",
                format!("typed JSON nests deeper than the limit: {e}"),
            )
        } else {
            bad(format!("invalid JSON: {e}"))
        }
    })?;
    from_json(&j)
}

/// Converts parsed typed JSON into a value.
pub fn from_json(j: &J) -> Result<Value> {
    Ok(match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(s.clone()),
        J::Array(items) => Value::List(items.iter().map(from_json).collect::<Result<_>>()?),
        J::Object(map) => {
            if let (1, Some((k, v))) = (map.len(), map.iter().next()) {
                if let Some(tag) = k.strip_prefix('$') {
                    return tagged(tag, v);
                }
            }
            Value::Map(
                map.iter()
                    .map(|(k, v)| Ok((Value::String(k.clone()), from_json(v)?)))
                    .collect::<Result<_>>()?,
            )
        }
    })
}

fn tagged(tag: &str, v: &J) -> Result<Value> {
    let text = || {
        v.as_str()
            .ok_or_else(|| bad(format!("${tag} takes a string, got {v}")))
    };
    let count = |key: &str| {
        v.get(key)
            .and_then(J::as_u64)
            .ok_or_else(|| bad(format!("${tag} needs a non-negative integer {key:?}")))
    };
    Ok(match tag {
        "int" => {
            let t = text()?;
            if let Ok(i) = t.parse::<i64>() {
                Value::Int(i)
            } else if let Ok(u) = t.parse::<u64>() {
                Value::UInt(u)
            } else if t.parse::<i128>().is_ok() || is_integer_text(t) {
                Value::BigInt(t.to_string())
            } else {
                return Err(bad(format!("$int {t:?} is not an integer")));
            }
        }
        "float" => Value::Float(match text()? {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            t => t
                .parse()
                .map_err(|_| bad(format!("$float {t:?} is not a number")))?,
        }),
        "bytes" => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|e| bad(format!("$bytes is not standard base64: {e}")))?,
        ),
        "bytes_fill" => {
            let byte = u8::try_from(count("byte")?)
                .map_err(|_| bad("$bytes_fill byte must be 0..=255".into()))?;
            Value::Bytes(vec![byte; fill_len(count("len")?)?])
        }
        "nest_list" => {
            // An empty list inside n lists, built without recursion. Deeper than
            // NEST_LIST_CAP levels it stops there: the core refuses either the same way, and
            // a deeper Rust `Value` would overflow the stack when it is dropped.
            let n = v
                .as_u64()
                .ok_or_else(|| bad("$nest_list needs a count".into()))?;
            let mut nested = Value::List(Vec::new());
            for _ in 0..n.min(NEST_LIST_CAP) {
                nested = Value::List(vec![nested]);
            }
            nested
        }
        "string_fill" => {
            let t = v
                .get("text")
                .and_then(J::as_str)
                .ok_or_else(|| bad("$string_fill needs a string \"text\"".into()))?;
            let n = fill_len(count("count")?)?;
            fill_len((t.len() as u64).saturating_mul(n as u64))?;
            Value::String(t.repeat(n))
        }
        "timestamp" => Value::Timestamp(wkt::parse_timestamp(text()?).map_err(bad)?),
        "duration" => Value::Duration(wkt::parse_duration(text()?).map_err(bad)?),
        other => return Err(bad(format!("unknown tag ${other}"))),
    })
}

fn is_integer_text(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// A fill length, capped at 64 MiB so that a tiny text cannot ask for unbounded memory.
fn fill_len(n: u64) -> Result<usize> {
    const MAX: u64 = 64 << 20;
    if n > MAX {
        return Err(Error::resource_exhausted(
            "FILL_TOO_LARGE",
            format!("fill of {n} exceeds {MAX}"),
        ));
    }
    Ok(n as usize)
}

/// Writes a value as typed JSON text.
pub fn to_text(v: &Value) -> String {
    to_json(v).to_string()
}

/// Converts a value into typed JSON (map keys become text).
pub fn to_json(v: &Value) -> J {
    let tag = |t: &str, x: J| J::Object([(format!("${t}"), x)].into_iter().collect());
    if let Some((index, inner)) = super::unmarked(v) {
        let body = [("index", J::from(index)), ("value", to_json(inner))];
        return tag(
            "converted",
            J::Object(body.map(|(k, x)| (k.to_string(), x)).into_iter().collect()),
        );
    }
    match v {
        Value::Null | Value::Unsupported(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) if (-EXACT..=EXACT).contains(i) => J::from(*i),
        Value::Int(i) => tag("int", J::String(i.to_string())),
        Value::UInt(u) if *u <= EXACT as u64 => J::from(*u),
        Value::UInt(u) => tag("int", J::String(u.to_string())),
        Value::BigInt(s) => tag("int", J::String(s.clone())),
        Value::Float(x) if x.is_nan() => tag("float", J::String("nan".into())),
        Value::Float(x) if x.is_infinite() => tag(
            "float",
            J::String(if *x > 0.0 { "inf" } else { "-inf" }.into()),
        ),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => tag(
            "bytes",
            J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (key_text(k), to_json(v)))
                .collect(),
        ),
        Value::Timestamp(t) => tag("timestamp", J::String(wkt::format_timestamp(*t))),
        Value::Duration(d) => tag("duration", J::String(wkt::format_duration(*d))),
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::BigInt(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => to_json(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Duration, Timestamp};

    #[test]
    fn round_trips_every_kind() {
        let v = Value::message([
            ("i", Value::Int(-7)),
            ("big", Value::Int(i64::MIN)),
            ("u", Value::UInt(u64::MAX)),
            ("f", Value::Float(1.0)),
            ("nan", Value::Float(f64::NAN)),
            ("b", Value::Bytes(vec![0, 255])),
            (
                "t",
                Value::Timestamp(Timestamp {
                    seconds: 1,
                    nanos: 500_000_000,
                }),
            ),
            (
                "d",
                Value::Duration(Duration {
                    seconds: -1,
                    nanos: -500_000_000,
                }),
            ),
            ("l", Value::list([Value::Null, Value::Bool(true)])),
        ]);
        let text = to_text(&v);
        assert!(
            text.contains(r#""big":{"$int":"-9223372036854775808"}"#),
            "{text}"
        );
        assert!(text.contains(r#""f":1.0"#), "{text}");
        assert!(
            text.contains(r#""t":{"$timestamp":"1970-01-01T00:00:01.500Z"}"#),
            "{text}"
        );
        assert!(text.contains(r#""d":{"$duration":"-1.500s"}"#), "{text}");
        let back = from_text(&text).unwrap();
        assert_eq!(back.get("big"), Some(&Value::Int(i64::MIN)));
        assert_eq!(back.get("u"), Some(&Value::UInt(u64::MAX)));
        assert_eq!(back.get("f"), Some(&Value::Float(1.0)));
        assert!(matches!(back.get("nan"), Some(Value::Float(x)) if x.is_nan()));
        assert_eq!(back.get("b"), Some(&Value::Bytes(vec![0, 255])));
        assert_eq!(back.get("t"), v.get("t"));
        assert_eq!(back.get("d"), v.get("d"));
        assert_eq!(back.get("l"), v.get("l"));
    }

    #[test]
    fn writes_converted_values_as_their_tag() {
        let v = Value::list([super::super::marked(2, Value::from("1.5")), Value::Int(1)]);
        assert_eq!(
            to_text(&v),
            r#"[{"$converted":{"index":2,"value":"1.5"}},1]"#
        );
    }

    #[test]
    fn reads_fills_and_big_integers() {
        let v = from_text(r#"[{"$bytes_fill":{"byte":120,"len":3}},{"$string_fill":{"text":"ab","count":2}},{"$int":"18446744073709551616"}]"#).unwrap();
        assert_eq!(
            v,
            Value::list([
                Value::Bytes(b"xxx".to_vec()),
                Value::from("abab"),
                Value::BigInt("18446744073709551616".into())
            ])
        );
    }

    #[test]
    fn rejects_bad_tags_with_invalid_argument() {
        for bad in [
            r#"{"$nope":1}"#,
            r#"{"$int":"1.5"}"#,
            r#"{"$bytes":"***"}"#,
            r#"{"$timestamp":"yesterday"}"#,
            "{",
        ] {
            let e = from_text(bad).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        }
        let e = from_text(r#"{"$bytes_fill":{"byte":1,"len":1000000000000}}"#).unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted);
    }
}
