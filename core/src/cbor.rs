//! CBOR (RFC 8949) for value trees, read and written in one pass: the bytes a Node or Go
//! binding sends become a [`Value`] directly, and a `Value` becomes bytes directly, with no
//! intermediate CBOR tree.
//!
//! Writing: integers and lengths in their shortest form, floats as `f32` when that is exact
//! (else `f64`), 64-bit integers given as decimal text ([`Value::BigInt`]) as bignums (tags 2
//! and 3), timestamps as RFC 3339 text (tag 0, every nanosecond kept), durations as RFC 9581
//! (tag 1002, `{1: seconds, -9: nanoseconds}`). Reading takes all of that, epoch times (tag 1),
//! indefinite lengths and half floats too; any other tag is its content, any other simple value
//! `null`. Bad bytes are `INVALID_ARGUMENT` ("invalid CBOR: …"); a value nested deeper than the
//! limit is `RESOURCE_EXHAUSTED` with reason `NESTING_TOO_DEEP`.

use crate::error::{Code, Error, FieldViolation, Result};
use crate::value::{Duration, Timestamp, Value};

/// RFC 8949 standard date/time text.
const TAG_RFC3339: u64 = 0;
/// RFC 8949 epoch-based date/time.
const TAG_EPOCH: u64 = 1;
/// RFC 9581 duration.
const TAG_DURATION: u64 = 1002;

/// Encodes a value tree as CBOR.
pub fn encode(v: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write(&mut out, v)?;
    Ok(out)
}

/// Decodes one CBOR item into a value tree (bytes after it are ignored).
pub fn decode(bytes: &[u8], max_depth: usize) -> Result<Value> {
    Reader {
        b: bytes,
        pos: 0,
        max_depth,
    }
    .value(0)
}

pub(crate) fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[m | 24, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(m | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(m | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

pub(crate) fn int(out: &mut Vec<u8>, i: i64) {
    match u64::try_from(i) {
        Ok(n) => head(out, 0, n),
        // -1 - i never overflows for a negative i.
        Err(_) => head(out, 1, (-1 - i) as u64),
    }
}

/// An integer given as decimal text as a bignum, even when it would fit a plain integer: the
/// tag is what tells a JavaScript reader the field is 64-bit (see
/// `DecodeOptions::int64_as_bigint`). Text that is no integer stays text.
pub(crate) fn bignum(out: &mut Vec<u8>, s: &str) {
    match s.parse::<i128>() {
        Ok(n) => {
            let (tag, magnitude) = if n < 0 { (3, -1 - n) } else { (2, n) };
            let bytes = magnitude.to_be_bytes();
            let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
            head(out, 6, tag);
            head(out, 2, (16 - first) as u64);
            out.extend_from_slice(&bytes[first..]);
        }
        Err(_) => text(out, s),
    }
}

pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A float as `f32` when that is exact, else as `f64`.
pub(crate) fn float(out: &mut Vec<u8>, x: f64) {
    let narrow = x as f32;
    if f64::from(narrow) == x {
        out.push(0xfa);
        out.extend_from_slice(&narrow.to_be_bytes());
    } else {
        out.push(0xfb);
        out.extend_from_slice(&x.to_be_bytes());
    }
}

pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

pub(crate) fn write(out: &mut Vec<u8>, v: &Value) -> Result<()> {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Int(i) => int(out, *i),
        Value::UInt(u) => head(out, 0, *u),
        Value::BigInt(s) => bignum(out, s),
        Value::Float(x) => float(out, *x),
        Value::String(s) => text(out, s),
        Value::Bytes(b) => bytes(out, b),
        Value::List(items) => {
            head(out, 4, items.len() as u64);
            for x in items {
                write(out, x)?;
            }
        }
        Value::Map(entries) => {
            head(out, 5, entries.len() as u64);
            for (k, x) in entries {
                write(out, k)?;
                write(out, x)?;
            }
        }
        Value::Timestamp(t) => {
            head(out, 6, TAG_RFC3339);
            text(out, &crate::value::time::format_timestamp(*t));
        }
        Value::Duration(d) => {
            head(out, 6, TAG_DURATION);
            head(out, 5, 2);
            int(out, 1);
            int(out, d.seconds);
            int(out, -9);
            int(out, i64::from(d.nanos));
        }
        Value::Unsupported(t) => {
            let violation = FieldViolation {
                field: String::new(),
                description: format!("a {t} cannot be sent"),
            };
            return Err(Error::invalid_argument("value", vec![violation]));
        }
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    max_depth: usize,
}

fn invalid(what: &str) -> Error {
    Error::new(Code::InvalidArgument, format!("invalid CBOR: {what}"))
}

/// The value of an integer of any size: 64-bit when it fits, else decimal text (out of range).
fn integer(n: i128) -> Value {
    i64::try_from(n)
        .map(Value::Int)
        .or_else(|_| u64::try_from(n).map(Value::UInt))
        .unwrap_or_else(|_| Value::BigInt(n.to_string()))
}

/// An IEEE 754 half-precision float.
pub(crate) fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let (exp, frac) = (i32::from((bits >> 10) & 0x1f), f64::from(bits & 0x3ff));
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.b.len())
            .ok_or_else(|| invalid("unexpected end of input"))?;
        let out = &self.b[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// The argument of an initial byte's additional information; `None`: indefinite length.
    fn arg(&mut self, info: u8) -> Result<Option<u64>> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes([self.byte()?, self.byte()?])),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().unwrap_or([0; 4]),
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().unwrap_or([0; 8])),
            31 => return Ok(None),
            _ => return Err(invalid("reserved additional information")),
        }))
    }

    /// A count of items that each take a byte at least, checked against what is left.
    fn count(&self, n: u64) -> Result<usize> {
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.b.len() - self.pos)
            .ok_or_else(|| invalid("unexpected end of input"))
    }

    /// Whether the next byte is a break (ending an indefinite-length item), which it consumes.
    fn at_break(&mut self) -> Result<bool> {
        match self.b.get(self.pos) {
            Some(0xff) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(invalid("unexpected end of input")),
        }
    }

    /// The bytes of a byte or text string of `major` type, chunks of an indefinite one joined.
    fn string(&mut self, major: u8, info: u8) -> Result<Vec<u8>> {
        if let Some(n) = self.arg(info)? {
            return Ok(self.take(self.count(n)?)?.to_vec());
        }
        let mut out = Vec::new();
        while !self.at_break()? {
            let ib = self.byte()?;
            if ib >> 5 != major {
                return Err(invalid(
                    "a chunk of another type in an indefinite-length string",
                ));
            }
            match self.arg(ib & 0x1f)? {
                Some(n) => {
                    let n = self.count(n)?;
                    out.extend_from_slice(self.take(n)?);
                }
                None => return Err(invalid("a nested indefinite-length string")),
            }
        }
        Ok(out)
    }

    /// Reads `n` (or, for `None`, up to a break) items with `item`.
    fn items(
        &mut self,
        n: Option<u64>,
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        match n {
            Some(n) => {
                for _ in 0..self.count(n)? {
                    item(self)?;
                }
            }
            None => {
                while !self.at_break()? {
                    item(self)?;
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > self.max_depth {
            return Err(Error::resource_exhausted(
                "NESTING_TOO_DEEP",
                format!(
                    "CBOR value nests deeper than the limit of {}",
                    self.max_depth
                ),
            ));
        }
        let ib = self.byte()?;
        let (major, info) = (ib >> 5, ib & 0x1f);
        let definite = |n: Option<u64>| n.ok_or_else(|| invalid("an indefinite-length integer"));
        Ok(match major {
            0 => integer(i128::from(definite(self.arg(info)?)?)),
            1 => integer(-1 - i128::from(definite(self.arg(info)?)?)),
            2 => Value::Bytes(self.string(2, info)?),
            3 => Value::String(
                String::from_utf8(self.string(3, info)?)
                    .map_err(|_| invalid("text that is not UTF-8"))?,
            ),
            4 => {
                let n = self.arg(info)?;
                let mut items = Vec::with_capacity(n.map_or(0, |n| n.min(1024) as usize));
                self.items(n, |r| {
                    items.push(r.value(depth + 1)?);
                    Ok(())
                })?;
                Value::List(items)
            }
            5 => {
                let n = self.arg(info)?;
                let mut entries = Vec::with_capacity(n.map_or(0, |n| n.min(1024) as usize));
                self.items(n, |r| {
                    let k = r.value(depth + 1)?;
                    entries.push((k, r.value(depth + 1)?));
                    Ok(())
                })?;
                Value::Map(entries)
            }
            6 => {
                let tag = definite(self.arg(info)?)?;
                tagged(tag, self.value(depth + 1)?)?
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                24 => {
                    self.byte()?;
                    Value::Null
                }
                25 => Value::Float(half(u16::from_be_bytes([self.byte()?, self.byte()?]))),
                26 => Value::Float(f64::from(f32::from_be_bytes(
                    self.take(4)?.try_into().unwrap_or([0; 4]),
                ))),
                27 => Value::Float(f64::from_be_bytes(
                    self.take(8)?.try_into().unwrap_or([0; 8]),
                )),
                31 => return Err(invalid("a break outside an indefinite-length item")),
                28..=30 => return Err(invalid("reserved additional information")),
                // null, undefined and the other simple values.
                _ => Value::Null,
            },
        })
    }
}

/// The value of a tagged item whose content is `inner`: the tags hms-ffi gives meaning to, and
/// the bare content for any other tag (or a content the tag does not fit).
fn tagged(tag: u64, inner: Value) -> Result<Value> {
    Ok(match (tag, inner) {
        (TAG_EPOCH, Value::Float(x)) => Value::Timestamp(Timestamp {
            seconds: x.floor() as i64,
            nanos: ((x - x.floor()) * 1e9).round().min(999_999_999.0) as i32,
        }),
        (TAG_EPOCH, Value::Int(seconds)) => Value::Timestamp(Timestamp { seconds, nanos: 0 }),
        (TAG_EPOCH, Value::UInt(_) | Value::BigInt(_)) => Value::Timestamp(Timestamp {
            seconds: 0,
            nanos: 0,
        }),
        (TAG_RFC3339, Value::String(text)) => Value::Timestamp(
            crate::value::time::parse_timestamp(&text)
                .map_err(|e| Error::new(Code::InvalidArgument, e))?,
        ),
        (TAG_DURATION, Value::Map(entries)) => {
            let field = |key: i64| {
                entries
                    .iter()
                    .find(|(k, _)| *k == Value::Int(key))
                    .and_then(|(_, v)| match v {
                        Value::Int(i) => Some(*i),
                        _ => None,
                    })
                    .unwrap_or(0)
            };
            Value::Duration(Duration {
                seconds: field(1),
                nanos: field(-9) as i32,
            })
        }
        // RFC 8949 bignums; beyond 64 bits kept as decimal text (out of range).
        (tag @ (2 | 3), Value::Bytes(b)) => {
            let n = (b.len() <= 16)
                .then(|| b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x)))
                .and_then(|n| i128::try_from(n).ok());
            match n {
                Some(m) => integer(if tag == 2 { m } else { -1 - m }),
                None => Value::BigInt(if tag == 2 { "1e39" } else { "-1e39" }.to_string()),
            }
        }
        (_, inner) => inner,
    })
}
