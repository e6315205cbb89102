//! A native input ([`Input`]: a binding's objects, or a [`Value`](crate::Value)) → protobuf bytes in one
//! pass, guided by the cached [`table`]s: the bytes of the message [`to_message`] builds,
//! without building a `Value` tree or a `DynamicMessage` first.
//!
//! It writes what is plainly valid: values of the field's own type (an `int` for an integer, a
//! `str` or a name for an enum, …) within range. Anything else — a value `to_message` would
//! convert or refuse, a field given twice, two members of a oneof, nesting at the limit,
//! proto2, an object without a [`View`] — it leaves to `to_message`, which converts it or
//! reports every violation with its path exactly as before: [`encode`] returns `None` then.
//! Well-known types are built by `to_message`, one at a time. Fields come out in number order;
//! proto3 fields without presence are left out at their default, as protobuf encoders do.

use prost::Message;
use prost_reflect::{Kind, MessageDescriptor};

use super::convert::{Converters, Native};
use super::input::{Input, View};
use super::table::{walkable, Shape};
use super::{to_message, MapOptions};

/// The bytes an encoded message starts with room for.
const SMALL_MESSAGE: usize = 128;

/// `input` as bytes of a `desc` message nesting at most `max_depth` deep, or `None` for
/// [`to_message`]. A value with a converter in `conv` is written as the converter makes it.
pub(crate) fn encode<I: Input>(
    desc: &MessageDescriptor,
    input: &I,
    max_depth: usize,
    conv: Option<&Converters>,
) -> Option<Vec<u8>> {
    // Room for a small message's bytes up front: growing from nothing costs an allocation and
    // a copy or two on every call.
    let mut out = Vec::with_capacity(SMALL_MESSAGE);
    message(desc, input, max_depth, conv, &mut out)?;
    Some(out)
}

/// Appends the fields of message `value`, with `budget` levels of nesting left.
fn message<I: Input>(
    desc: &MessageDescriptor,
    value: &I,
    budget: usize,
    conv: Option<&Converters>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let t = walkable(desc, budget)?;
    if t.well_known {
        let opts = MapOptions {
            json: false,
            max_depth: budget,
        };
        let tree = value.to_value().ok()?;
        to_message(desc, &tree, &opts).ok()?.encode(out).ok()?;
        return Some(());
    }
    if value.view() != View::Map {
        return None;
    }
    let mut given: Vec<(u32, usize, I)> = Vec::with_capacity(value.len_hint());
    for (key, v) in value.entries() {
        let View::Str(name) = key.view() else {
            return None;
        };
        let i = t.fields.iter().position(|f| f.name == name)?;
        if v.view() == View::Null {
            continue;
        }
        if given.iter().any(|(_, j, _)| *j == i) {
            return None;
        }
        let f = &t.fields[i];
        if let Some(k) = f.oneof {
            if given.iter().any(|(_, j, _)| t.fields[*j].oneof == Some(k)) {
                return None;
            }
        }
        given.push((f.fd.number(), i, v));
    }
    given.sort_unstable_by_key(|(n, _, _)| *n);
    let inner = budget - 1;
    for (number, i, v) in given {
        let f = &t.fields[i];
        let native = t.converter(i, conv);
        let one = |n: u32, kind: &Kind, v: &I, budget: usize, out: &mut Vec<u8>| {
            field(n, kind, v, budget, (conv, native), out)
        };
        match &f.shape {
            Shape::Single => {
                if !f.presence && is_default(&f.kind, v.view()) {
                    continue;
                }
                one(number, &f.kind, &v, inner, out)?;
            }
            Shape::List => {
                if v.view() != View::List || inner == 0 {
                    return None;
                }
                let mut items = v.items().peekable();
                if items.peek().is_none() {
                    continue;
                }
                if packable(&f.kind) {
                    delimited(number, out, |out| {
                        items.try_for_each(|item| scalar(&f.kind, item.view(), out))
                    })?;
                } else {
                    for item in items {
                        one(number, &f.kind, &item, inner - 1, out)?;
                    }
                }
            }
            Shape::Map(key_kind, value_kind) => {
                if v.view() != View::Map || inner == 0 {
                    return None;
                }
                for (k, item) in v.entries() {
                    if matches!(key_kind, Kind::String) != matches!(k.view(), View::Str(_)) {
                        return None;
                    }
                    delimited(number, out, |entry| {
                        field(1, key_kind, &k, 0, (None, None), entry)?;
                        one(2, value_kind, &item, inner - 1, entry)
                    })?;
                }
            }
        }
    }
    Some(())
}

/// One value of a field numbered `number` (a message has `budget` levels left), as its
/// converter (`conv.1`, of the converters `conv.0`) makes it.
fn field<I: Input>(
    number: u32,
    kind: &Kind,
    v: &I,
    budget: usize,
    (conv, native): (Option<&Converters>, Option<&Native>),
    out: &mut Vec<u8>,
) -> Option<()> {
    let converted;
    let v = match native {
        Some(n) => {
            converted = v.convert(n).ok()?;
            &converted
        }
        None => v,
    };
    match kind {
        Kind::Message(m) => delimited(number, out, |out| message(m, v, budget, conv, out))?,
        Kind::String | Kind::Bytes => {
            let b: &[u8] = match (kind, v.view()) {
                (Kind::String, View::Str(s)) => s.as_bytes(),
                (Kind::Bytes, View::Bytes(b)) => b,
                (Kind::Bytes, View::Str(s)) => s.as_bytes(),
                _ => return None,
            };
            tag(number, 2, out);
            bytes(b, out);
        }
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => {
            tag(number, 1, out);
            scalar(kind, v.view(), out)?;
        }
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => {
            tag(number, 5, out);
            scalar(kind, v.view(), out)?;
        }
        _ => {
            tag(number, 0, out);
            scalar(kind, v.view(), out)?;
        }
    }
    Some(())
}

/// Numbers, bools and enums, without a tag (as in a packed list).
fn scalar(kind: &Kind, v: View<'_>, out: &mut Vec<u8>) -> Option<()> {
    match kind {
        Kind::Double => out.extend_from_slice(&number(v)?.to_le_bytes()),
        Kind::Float => {
            let x = number(v)?;
            if x.is_finite() && (x as f32).is_infinite() {
                return None;
            }
            out.extend_from_slice(&(x as f32).to_le_bytes());
        }
        Kind::Int32 => varint(int(v, i32::MIN.into(), i32::MAX.into())? as i64 as u64, out),
        Kind::Int64 => varint(int(v, i64::MIN.into(), i64::MAX.into())? as i64 as u64, out),
        Kind::Uint32 => varint(int(v, 0, u32::MAX.into())? as u64, out),
        Kind::Uint64 => varint(int(v, 0, u64::MAX.into())? as u64, out),
        Kind::Sint32 => {
            let n = int(v, i32::MIN.into(), i32::MAX.into())? as i32;
            varint(u64::from(((n << 1) ^ (n >> 31)) as u32), out);
        }
        Kind::Sint64 => {
            let n = int(v, i64::MIN.into(), i64::MAX.into())? as i64;
            varint(((n << 1) ^ (n >> 63)) as u64, out);
        }
        Kind::Fixed32 => out.extend_from_slice(&(int(v, 0, u32::MAX.into())? as u32).to_le_bytes()),
        Kind::Sfixed32 => {
            out.extend_from_slice(&(int(v, i32::MIN.into(), i32::MAX.into())? as i32).to_le_bytes())
        }
        Kind::Fixed64 => out.extend_from_slice(&(int(v, 0, u64::MAX.into())? as u64).to_le_bytes()),
        Kind::Sfixed64 => {
            out.extend_from_slice(&(int(v, i64::MIN.into(), i64::MAX.into())? as i64).to_le_bytes())
        }
        Kind::Bool => match v {
            View::Bool(b) => varint(u64::from(b), out),
            _ => return None,
        },
        Kind::Enum(e) => {
            let n = match v {
                View::Str(name) => e.get_value_by_name(name)?.number(),
                _ => int(v, i32::MIN.into(), i32::MAX.into())? as i32,
            };
            varint(n as i64 as u64, out);
        }
        Kind::String | Kind::Bytes | Kind::Message(_) => return None,
    }
    Some(())
}

/// An integer of the value's own type within `min..=max`.
fn int(v: View<'_>, min: i128, max: i128) -> Option<i128> {
    let n: i128 = match v {
        View::Int(i) => i.into(),
        View::UInt(u) => u.into(),
        _ => return None,
    };
    (min..=max).contains(&n).then_some(n)
}

fn number(v: View<'_>) -> Option<f64> {
    match v {
        View::Float(x) => Some(x),
        View::Int(i) => Some(i as f64),
        View::UInt(u) => Some(u as f64),
        _ => None,
    }
}

/// Whether a field without presence holds a default of its own type, which protobuf leaves
/// out (a value of another type is not skipped: writing it fails and `to_message` reports it).
fn is_default(kind: &Kind, v: View<'_>) -> bool {
    match (kind, v) {
        (Kind::Enum(e), View::Str(name)) => {
            e.get_value_by_name(name).is_some_and(|ev| ev.number() == 0)
        }
        (Kind::Double | Kind::Float, View::Float(x)) => x == 0.0 && x.is_sign_positive(),
        (Kind::Bool, View::Bool(b)) => !b,
        (Kind::String, View::Str(s)) => s.is_empty(),
        (Kind::Bytes, View::Bytes(b)) => b.is_empty(),
        (Kind::Bytes, View::Str(s)) => s.is_empty(),
        (Kind::String | Kind::Bytes | Kind::Bool | Kind::Message(_), _) => false,
        (_, View::Int(0) | View::UInt(0)) => true,
        _ => false,
    }
}

fn packable(kind: &Kind) -> bool {
    !matches!(kind, Kind::String | Kind::Bytes | Kind::Message(_))
}

fn tag(number: u32, wire: u8, out: &mut Vec<u8>) {
    varint((u64::from(number) << 3) | u64::from(wire), out);
}

/// A length-delimited field numbered `number` whose content `write` appends: written in place
/// after a one-byte length, which grows (moving the content) only past 127 bytes.
fn delimited(
    number: u32,
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Option<()>,
) -> Option<()> {
    tag(number, 2, out);
    let at = out.len();
    out.push(0);
    write(out)?;
    let len = out.len() - at - 1;
    if let Ok(short @ 0..=127) = u8::try_from(len) {
        out[at] = short;
    } else {
        let mut prefix = Vec::with_capacity(10);
        varint(len as u64, &mut prefix);
        out.splice(at..=at, prefix);
    }
    Some(())
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}
