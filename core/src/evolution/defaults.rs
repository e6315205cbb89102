//! `FIELD_SAME_DEFAULT`: a singular scalar field keeps its default value (proto2's
//! `[default = …]`; an unset default is the type's zero, or an enum's first value).
//!
//! Values are compared across types as buf compares them: strings and bytes by their bytes,
//! numbers, bools and enum numbers by value (a float and a double by the float's precision),
//! so a type change alone (already `FIELD_SAME_TYPE`) does not also count as a new default.

use prost_types::field_descriptor_proto::{Label, Type};

use super::fields::Side;
use super::Findings;

/// A default value, comparable across field types.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Bytes(Vec<u8>),
    Int(i128),
    F32(f32),
    F64(f64),
}

impl Val {
    fn is_zero(&self) -> bool {
        match self {
            Val::Bytes(b) => b.is_empty(),
            Val::Int(i) => *i == 0,
            Val::F32(f) => *f == 0.0 && f.is_sign_positive(),
            Val::F64(f) => *f == 0.0 && f.is_sign_positive(),
        }
    }

    fn float(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::F32(f) => Some(f64::from(*f)),
            Val::F64(f) => Some(*f),
            Val::Bytes(_) => None,
        }
    }

    fn same(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Bytes(a), Val::Bytes(b)) => a == b,
            (Val::Bytes(_), _) | (_, Val::Bytes(_)) => false,
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::F32(a), Val::F64(b)) | (Val::F64(b), Val::F32(a)) => {
                (a.is_nan() && b.is_nan()) || *a == *b as f32
            }
            (a, b) => match (a.float(), b.float()) {
                (Some(x), Some(y)) => (x.is_nan() && y.is_nan()) || x == y,
                _ => false,
            },
        }
    }

    fn show(&self) -> String {
        match self {
            Val::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
            Val::Int(i) => i.to_string(),
            Val::F32(f) => f.to_string(),
            Val::F64(f) => f.to_string(),
        }
    }
}

pub(super) fn check(a: &Side<'_, '_>, b: &Side<'_, '_>, what: &str, out: &mut Findings) {
    let (Some((before, was)), Some((after, is))) = (default(a), default(b)) else {
        return;
    };
    if (before.is_zero() && after.is_zero()) || before.same(&after) {
        return;
    }
    out.add(
        "FIELD_SAME_DEFAULT",
        b.at(&[7]),
        format!("{what} changed default value from {was} to {is}."),
    );
}

/// The field's default and how it is shown (`Color.COLOR_RED` for an enum), or `None` for a
/// field that cannot have one (repeated, map, message).
fn default(s: &Side<'_, '_>) -> Option<(Val, String)> {
    let p = s.f.proto;
    if p.label() == Label::Repeated || matches!(p.r#type(), Type::Message | Type::Group) {
        return None;
    }
    let text = p.default_value.as_deref();
    let ty = p.r#type();
    let val = match ty {
        Type::String => Val::Bytes(text.unwrap_or("").as_bytes().to_vec()),
        Type::Bytes => Val::Bytes(unescape(text.unwrap_or(""))),
        Type::Bool => Val::Int(i128::from(text == Some("true"))),
        Type::Float => Val::F32(float(text) as f32),
        Type::Double => Val::F64(float(text)),
        Type::Enum => {
            let e = s.index.enums.get(p.type_name().trim_start_matches('.'));
            let number = match (text, e) {
                (Some(name), Some(e)) => e.proto.value.iter().find(|v| v.name() == name),
                (None, Some(e)) => e.proto.value.first(),
                (_, None) => None,
            };
            let val = Val::Int(number.map_or(0, |v| i128::from(v.number())));
            if let (Some(e), Some(v)) = (e, number) {
                return Some((val, format!("{}.{}", e.proto.name(), v.name())));
            }
            val
        }
        _ => Val::Int(text.and_then(|t| t.parse().ok()).unwrap_or(0)),
    };
    let shown = val.show();
    Some((val, shown))
}

fn float(text: Option<&str>) -> f64 {
    match text {
        None => 0.0,
        Some("inf") => f64::INFINITY,
        Some("-inf") => f64::NEG_INFINITY,
        Some("nan") => f64::NAN,
        Some(t) => t.parse().unwrap_or(0.0),
    }
}

/// A bytes default as descriptors write it (C escapes: `\n`, `\\`, `\ooo`, `\xhh`).
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        let digits = |i: usize, radix: u32, max: usize| {
            let end = (i..bytes.len().min(i + max))
                .find(|&j| !(bytes[j] as char).is_digit(radix))
                .unwrap_or(bytes.len().min(i + max));
            let value = std::str::from_utf8(&bytes[i..end])
                .ok()
                .and_then(|d| u32::from_str_radix(d, radix).ok());
            (value.unwrap_or(0) as u8, end)
        };
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'x' | b'X' => {
                let (v, end) = digits(i, 16, 2);
                out.push(v);
                i = end;
            }
            b'0'..=b'7' => {
                let (v, end) = digits(i - 1, 8, 3);
                out.push(v);
                i = end;
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_reads_c_escapes() {
        assert_eq!(unescape(r#"a\n\\\001\x41\"z"#), b"a\n\\\x01A\"z".to_vec());
    }

    #[test]
    fn values_compare_across_types() {
        assert!(Val::Int(1).same(&Val::F64(1.0)));
        assert!(Val::F32(0.1).same(&Val::F64(0.1)));
        assert!(Val::F64(f64::NAN).same(&Val::F64(f64::NAN)));
        assert!(!Val::Bytes(b"1".to_vec()).same(&Val::Int(1)));
        assert!(!Val::Int(2).same(&Val::Int(3)));
    }
}
