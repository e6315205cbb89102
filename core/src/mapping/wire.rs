//! Protobuf bytes → a binding's objects ([`Output`]: a Python `dict`, or a [`Value`]) in one
//! pass over the wire, guided by cached [`Table`]s: the value [`from_message_with`] gives for
//! the decoded message, without building a `DynamicMessage` first (which cost most of a call's
//! value path) or a `Value` tree for a binding that makes its own objects.
//!
//! It reads what valid messages hold. Anything else — malformed bytes, nesting past the limit,
//! a singular message field given twice (which protobuf merges), groups, proto2 files — it
//! leaves to the general path, which decodes or reports errors exactly as before: [`decode`]
//! returns `None` then. Well-known types are decoded by the general path, one at a time.

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor};

use super::convert::{Converters, Native};
use super::decode::{field_value, from_message_with, DecodeOptions};
use super::output::{Output, Scalar};
use super::table::{walkable, Field, Shape, Table};

/// `bytes` as a message of `desc`, nesting at most `max_depth` deep, made by `out`, or `None`
/// for the general path. A value with a converter in `conv` comes out as the converter makes it.
pub(crate) fn decode<O: Output>(
    desc: &MessageDescriptor,
    bytes: &[u8],
    max_depth: usize,
    o: DecodeOptions,
    conv: Option<&Converters>,
    out: &mut O,
) -> Option<O::Node> {
    message(desc, bytes, max_depth, (o, conv), out)
}

/// How values come out: the presentation and the converters.
type How<'c> = (DecodeOptions, Option<&'c Converters>);

/// `node` as converter `native` (if any) makes it; a failure is left to the general path.
fn converted<O: Output>(native: Option<&Native>, node: O::Node, out: &mut O) -> Option<O::Node> {
    match native {
        Some(n) => out.convert(n, node).ok(),
        None => Some(node),
    }
}

/// What a field read so far holds.
enum Slot<N> {
    One(N),
    List(Vec<N>),
    Map(Vec<(Key, N, N)>),
}

/// A map key in protobuf's order (one map's keys are all of one kind).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Text(String),
}

/// A message with `budget` levels of nesting left (it takes one; a list or map takes one more).
fn message<O: Output>(
    desc: &MessageDescriptor,
    bytes: &[u8],
    budget: usize,
    how: How<'_>,
    out: &mut O,
) -> Option<O::Node> {
    let (o, conv) = how;
    let t = walkable(desc, budget)?;
    if t.well_known {
        let m = DynamicMessage::decode(desc.clone(), bytes).ok()?;
        if !crate::codec::message_within(&m, budget) {
            return None;
        }
        return out.value(from_message_with(&m, o)).ok();
    }
    let inner = budget - 1;
    let mut slots: Vec<Option<Slot<O::Node>>> = (0..t.fields.len()).map(|_| None).collect();
    let mut oneofs: Vec<(usize, usize)> = Vec::new();
    let mut r = Reader(bytes);
    while !r.0.is_empty() {
        let key = r.varint()?;
        let (number, wire) = (u32::try_from(key >> 3).ok()?, (key & 7) as u8);
        if number == 0 {
            return None;
        }
        let Some(i) = t.index(number) else {
            r.skip(wire)?;
            continue;
        };
        let f = &t.fields[i];
        let native = t.converter(i, conv);
        match &f.shape {
            Shape::Single => {
                if matches!(f.kind, Kind::Message(_)) && slots[i].is_some() {
                    return None;
                }
                let node = single(&f.kind, wire, &mut r, inner, how, out)?;
                slots[i] = Some(Slot::One(formatted(f, native, node, out)?));
                if let Some(k) = f.oneof {
                    clear_other_members(&t, &mut slots, &mut oneofs, k, i);
                }
            }
            Shape::List => {
                if inner == 0 {
                    return None;
                }
                let Slot::List(items) = slots[i].get_or_insert_with(|| Slot::List(Vec::new()))
                else {
                    return None;
                };
                if wire == 2 && wire_of(&f.kind) != 2 {
                    let mut packed = Reader(r.bytes()?);
                    while !packed.0.is_empty() {
                        items.push(single(
                            &f.kind,
                            wire_of(&f.kind),
                            &mut packed,
                            inner - 1,
                            how,
                            out,
                        )?);
                    }
                } else {
                    let node = single(&f.kind, wire, &mut r, inner - 1, how, out)?;
                    items.push(formatted(f, native, node, out)?);
                }
            }
            Shape::Map(key_kind, value_kind) => {
                if inner == 0 || wire != 2 {
                    return None;
                }
                let entry = entry(key_kind, value_kind, r.bytes()?, inner - 1, how, out)?;
                match slots[i].get_or_insert_with(|| Slot::Map(Vec::new())) {
                    Slot::Map(entries) => entries.push(entry),
                    _ => return None,
                }
            }
        }
    }
    let mut nodes = Vec::with_capacity(t.fields.len());
    for (i, (f, slot)) in t.fields.iter().zip(slots).enumerate() {
        nodes.push(match slot {
            Some(Slot::One(v)) => v,
            Some(Slot::List(items)) => out.list(items)?,
            Some(Slot::Map(mut entries)) => {
                // Sorted by key; of a key given twice the last one counts, as in a map.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut kept: Vec<(O::Node, O::Node)> = Vec::with_capacity(entries.len());
                let mut last: Option<Key> = None;
                for (key, k, v) in entries {
                    if last.as_ref() == Some(&key) {
                        kept.pop();
                    }
                    kept.push((k, v));
                    last = Some(key);
                }
                out.map(kept)?
            }
            // An unset string field with a converted format reads as null, as one with presence.
            None if f.presence || t.unset_is_null(i, conv) => out.null()?,
            None => out.value(field_value(&f.fd, &f.default, o)).ok()?,
        });
    }
    out.message(t.fields.iter().map(|f| f.name.as_str()).zip(nodes))
}

/// A read string field's `node` as its format's converter `native` makes it (a message's own
/// converter ran in [`single`]). Other fields' nodes pass as they are.
fn formatted<O: Output>(
    f: &Field,
    native: Option<&Native>,
    node: O::Node,
    out: &mut O,
) -> Option<O::Node> {
    match native {
        Some(n) if f.format.is_some() => out.convert(n, node).ok(),
        _ => Some(node),
    }
}

/// Setting a oneof member unsets the member set before it.
fn clear_other_members<N>(
    t: &Table,
    slots: &mut [Option<Slot<N>>],
    oneofs: &mut Vec<(usize, usize)>,
    oneof: usize,
    member: usize,
) {
    match oneofs.iter_mut().find(|(k, _)| *k == oneof) {
        Some((_, set)) => {
            if *set != member {
                slots[*set] = None;
            }
            *set = member;
        }
        None => oneofs.push((oneof, member)),
    }
    debug_assert!(t.fields[member].oneof == Some(oneof));
}

/// One map entry: its sort key, key and value (absent ones are their defaults).
fn entry<O: Output>(
    key_kind: &Kind,
    value_kind: &Kind,
    bytes: &[u8],
    budget: usize,
    how: How<'_>,
    out: &mut O,
) -> Option<(Key, O::Node, O::Node)> {
    let o = how.0;
    let mut r = Reader(bytes);
    let (mut key, mut value) = (None, None);
    while !r.0.is_empty() {
        let tag = r.varint()?;
        let wire = (tag & 7) as u8;
        match tag >> 3 {
            1 => key = Some(map_key(key_kind, wire, &mut r, o, out)?),
            2 => value = Some(single(value_kind, wire, &mut r, budget, how, out)?),
            _ => r.skip(wire)?,
        }
    }
    let (sort, key) = match key {
        Some(k) => k,
        None => map_key(key_kind, wire_of(key_kind), &mut Reader(&[0; 10]), o, out)?,
    };
    let value = match value {
        Some(v) => v,
        None => match value_kind {
            Kind::Message(m) => {
                let node = message(m, &[], budget, how, out)?;
                converted(how.1.and_then(|c| c.for_message(m)), node, out)?
            }
            other => single(
                other,
                wire_of(other),
                &mut Reader(&[0; 10]),
                budget,
                how,
                out,
            )?,
        },
    };
    Some((sort, key, value))
}

fn map_key<O: Output>(
    kind: &Kind,
    wire: u8,
    r: &mut Reader<'_>,
    o: DecodeOptions,
    out: &mut O,
) -> Option<(Key, O::Node)> {
    let s = scalar(kind, wire, r, o)?;
    let sort = match (kind, &s) {
        (Kind::String, Scalar::Str(t)) => Key::Text(t.to_string()),
        (Kind::Bool, Scalar::Bool(b)) => Key::Bool(*b),
        (Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64, _) => {
            Key::UInt(u64::try_from(as_i128(&s)?).ok()?)
        }
        (_, _) => Key::Int(i64::try_from(as_i128(&s)?).ok()?),
    };
    Some((sort, out.scalar(s)?))
}

fn as_i128(s: &Scalar<'_>) -> Option<i128> {
    match s {
        Scalar::Int(i) => Some((*i).into()),
        Scalar::UInt(u) => Some((*u).into()),
        Scalar::BigInt(t) => t.parse().ok(),
        _ => None,
    }
}

/// The wire type a kind is written with outside a packed list.
fn wire_of(kind: &Kind) -> u8 {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        _ => 0,
    }
}

/// A 64-bit integer as [`DecodeOptions::int64_as_bigint`] asks.
fn wide(s: Scalar<'_>, o: DecodeOptions) -> Scalar<'_> {
    match (o.int64_as_bigint, s) {
        (true, Scalar::Int(i)) => Scalar::BigInt(i.to_string()),
        (true, Scalar::UInt(u)) => Scalar::BigInt(u.to_string()),
        (_, s) => s,
    }
}

/// One value of `kind` written with `wire`; a message has `budget` levels left and comes out
/// as its type's converter (if any) makes it.
fn single<O: Output>(
    kind: &Kind,
    wire: u8,
    r: &mut Reader<'_>,
    budget: usize,
    how: How<'_>,
    out: &mut O,
) -> Option<O::Node> {
    let o = how.0;
    match kind {
        Kind::Message(m) if wire == 2 => {
            let node = message(m, r.bytes()?, budget, how, out)?;
            converted(how.1.and_then(|c| c.for_message(m)), node, out)
        }
        Kind::Enum(e) if wire == 0 => {
            let n = r.varint()? as i32;
            match e.get_value(n) {
                Some(v) => out.scalar(Scalar::Str(v.name())),
                None => out.scalar(Scalar::Int(n.into())),
            }
        }
        _ => {
            let s = scalar(kind, wire, r, o)?;
            out.scalar(s)
        }
    }
}

/// One scalar (not a message or enum) of `kind` written with `wire`.
fn scalar<'a>(kind: &Kind, wire: u8, r: &mut Reader<'a>, o: DecodeOptions) -> Option<Scalar<'a>> {
    if wire != wire_of(kind) {
        return None;
    }
    Some(match kind {
        Kind::Double => Scalar::Float(f64::from_le_bytes(r.fixed()?)),
        Kind::Float => Scalar::Float(f64::from(f32::from_le_bytes(r.fixed()?))),
        Kind::Fixed64 => wide(Scalar::unsigned(u64::from_le_bytes(r.fixed()?)), o),
        Kind::Sfixed64 => wide(Scalar::Int(i64::from_le_bytes(r.fixed()?)), o),
        Kind::Fixed32 => Scalar::Int(u32::from_le_bytes(r.fixed()?).into()),
        Kind::Sfixed32 => Scalar::Int(i32::from_le_bytes(r.fixed()?).into()),
        Kind::Int32 => Scalar::Int(i64::from(r.varint()? as i32)),
        Kind::Uint32 => Scalar::Int(i64::from(r.varint()? as u32)),
        Kind::Sint32 => {
            let n = r.varint()? as u32;
            Scalar::Int(i64::from((n >> 1) as i32 ^ -((n & 1) as i32)))
        }
        Kind::Int64 => wide(Scalar::Int(r.varint()? as i64), o),
        Kind::Uint64 => wide(Scalar::unsigned(r.varint()?), o),
        Kind::Sint64 => {
            let n = r.varint()?;
            wide(Scalar::Int((n >> 1) as i64 ^ -((n & 1) as i64)), o)
        }
        Kind::Bool => Scalar::Bool(r.varint()? != 0),
        Kind::String => Scalar::Str(std::str::from_utf8(r.bytes()?).ok()?),
        Kind::Bytes => Scalar::Bytes(r.bytes()?),
        Kind::Enum(_) | Kind::Message(_) => return None,
    })
}

/// The bytes left to read.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for (i, b) in self.0.iter().take(10).enumerate() {
            if i == 9 && *b > 1 {
                return None;
            }
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Some(out);
            }
        }
        None
    }

    fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }

    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            0 => self.varint().map(drop),
            1 => self.fixed::<8>().map(drop),
            2 => self.bytes().map(drop),
            5 => self.fixed::<4>().map(drop),
            _ => None,
        }
    }
}
