//! Codecs: protobuf binary (default), protobuf canonical JSON, and CBOR for schemaless calls.

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::error::{Code, Error, Result};
use crate::mapping::{self, json, DecodeOptions, MapOptions};
use crate::value::Value;

/// How a message is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Codec {
    /// Protobuf binary encoding.
    #[default]
    Proto,
    /// Protobuf canonical JSON (UTF-8 text).
    Json,
    /// CBOR (RFC 8949) of the value tree, for methods without a schema.
    Cbor,
}

impl Codec {
    /// The number used on the local wire.
    pub fn as_u32(self) -> u32 {
        match self {
            Codec::Proto => 0,
            Codec::Json => 1,
            Codec::Cbor => 2,
        }
    }

    /// The codec for a wire number.
    pub fn from_u32(n: u32) -> Result<Codec> {
        match n {
            0 => Ok(Codec::Proto),
            1 => Ok(Codec::Json),
            2 => Ok(Codec::Cbor),
            _ => Err(Error::new(
                Code::Unimplemented,
                format!("unknown codec {n}"),
            )),
        }
    }

    /// `proto`, `json` or `cbor`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Proto => "proto",
            Codec::Json => "json",
            Codec::Cbor => "cbor",
        }
    }

    /// Encodes a value. `desc` is required for `Proto` and `Json`.
    pub fn encode(
        self,
        desc: Option<&MessageDescriptor>,
        value: &Value,
        max_depth: usize,
    ) -> Result<Vec<u8>> {
        let opts = MapOptions {
            json: false,
            max_depth,
        };
        match (self, desc) {
            (Codec::Proto, Some(d)) => match mapping::wire_out::encode(d, value, max_depth) {
                // Plainly valid values in one pass; the general path converts or refuses the
                // rest.
                Some(bytes) => Ok(bytes),
                None => Ok(mapping::to_message(d, value, &opts)?.encode_to_vec()),
            },
            (Codec::Json, Some(d)) => {
                let msg = mapping::to_message(d, value, &opts)?;
                Ok(json::message_to_json(&msg, true)?.into_bytes())
            }
            (Codec::Cbor, _) => encode_cbor(value),
            (_, None) => Err(Error::new(
                Code::FailedPrecondition,
                format!("the {} codec needs a schema for the message", self.name()),
            )),
        }
    }

    /// Decodes bytes into a value. `desc` is required for `Proto` and `Json`.
    pub fn decode(
        self,
        desc: Option<&MessageDescriptor>,
        bytes: &[u8],
        max_depth: usize,
    ) -> Result<Value> {
        self.decode_with(desc, bytes, max_depth, DecodeOptions::default())
    }

    /// [`decode`](Codec::decode) with [`DecodeOptions`] for how the value is presented.
    pub fn decode_with(
        self,
        desc: Option<&MessageDescriptor>,
        bytes: &[u8],
        max_depth: usize,
        o: DecodeOptions,
    ) -> Result<Value> {
        match (self, desc) {
            (Codec::Proto, Some(d)) => {
                // Valid messages in one pass; the general path below for the rest, and for
                // the errors.
                if let Some(v) = mapping::wire::decode(d, bytes, max_depth, o) {
                    return Ok(v);
                }
                let m = decode_proto(d, bytes)?;
                if !message_within(&m, max_depth) {
                    return Err(Error::resource_exhausted(
                        "NESTING_TOO_DEEP",
                        format!("message nests deeper than the limit of {max_depth}"),
                    ));
                }
                Ok(mapping::from_message_with(&m, o))
            }
            (Codec::Json, Some(d)) => {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    Error::new(Code::InvalidArgument, "JSON message is not valid UTF-8")
                })?;
                Ok(mapping::from_message_with(
                    &json::message_from_json(d, text, max_depth)?,
                    o,
                ))
            }
            (Codec::Cbor, _) => decode_cbor(bytes, max_depth),
            (_, None) => Err(Error::new(
                Code::FailedPrecondition,
                format!("the {} codec needs a schema for the message", self.name()),
            )),
        }
    }
}

/// True when messages, lists and maps in `m` nest at most `depth` deep (`m` itself is 1).
pub(crate) fn message_within(m: &DynamicMessage, depth: usize) -> bool {
    fn within(v: &prost_reflect::Value, depth: usize) -> bool {
        use prost_reflect::Value as V;
        match v {
            V::Message(m) => message_within(m, depth),
            V::List(items) => depth > 0 && items.iter().all(|x| within(x, depth - 1)),
            V::Map(entries) => depth > 0 && entries.values().all(|x| within(x, depth - 1)),
            _ => true,
        }
    }
    depth > 0 && m.fields().all(|(_, v)| within(v, depth - 1))
}

/// Decodes protobuf binary into a dynamic message; bad bytes are `InvalidArgument`.
pub fn decode_proto(desc: &MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage> {
    DynamicMessage::decode(desc.clone(), bytes).map_err(|e| {
        Error::new(
            Code::InvalidArgument,
            format!("bytes are not a valid {} message: {e}", desc.full_name()),
        )
        .with_reason("UNDECODABLE_MESSAGE")
    })
}

/// RFC 8949 standard date/time text.
const TAG_RFC3339: u64 = 0;
/// RFC 9581 duration.
const TAG_DURATION: u64 = 1002;

/// An integer given as decimal text (`Value::BigInt`) as an RFC 8949 bignum (tag 2 or 3), even
/// when it would fit a plain integer: the tag is what tells a JavaScript reader that the field is
/// 64-bit (see `DecodeOptions::int64_as_bigint`). Text that is no integer stays text.
fn bignum(s: &str) -> ciborium::Value {
    use ciborium::Value as C;
    match s.parse::<i128>() {
        Ok(n) => {
            let (tag, magnitude) = if n < 0 { (3, -1 - n) } else { (2, n) };
            let bytes = magnitude.to_be_bytes();
            let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
            C::Tag(tag, Box::new(C::Bytes(bytes[first..].to_vec())))
        }
        Err(_) => C::Text(s.to_string()),
    }
}

fn to_cbor(v: &Value) -> Result<ciborium::Value> {
    use ciborium::Value as C;
    Ok(match v {
        Value::Null => C::Null,
        Value::Bool(b) => C::Bool(*b),
        Value::Int(i) => C::Integer((*i).into()),
        Value::UInt(u) => C::Integer((*u).into()),
        Value::BigInt(s) => bignum(s),
        Value::Float(x) => C::Float(*x),
        Value::String(s) => C::Text(s.clone()),
        Value::Bytes(b) => C::Bytes(b.clone()),
        Value::List(items) => C::Array(items.iter().map(to_cbor).collect::<Result<_>>()?),
        Value::Map(entries) => C::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((to_cbor(k)?, to_cbor(v)?)))
                .collect::<Result<_>>()?,
        ),
        // RFC 8949 tag 1: epoch-based date/time.
        // RFC 8949 tag 0: RFC 3339 text, which keeps every nanosecond.
        Value::Timestamp(t) => C::Tag(
            TAG_RFC3339,
            Box::new(C::Text(crate::value::time::format_timestamp(*t))),
        ),
        // RFC 9581 tag 1002: a duration as {1: seconds, -9: nanoseconds}.
        Value::Duration(d) => C::Tag(
            TAG_DURATION,
            Box::new(C::Map(vec![
                (C::Integer(1.into()), C::Integer(d.seconds.into())),
                (C::Integer((-9).into()), C::Integer(d.nanos.into())),
            ])),
        ),
        Value::Unsupported(t) => {
            let violation = crate::error::FieldViolation {
                field: String::new(),
                description: format!("a {t} cannot be sent"),
            };
            return Err(Error::invalid_argument("value", vec![violation]));
        }
    })
}

fn from_cbor(c: ciborium::Value, depth: usize, max_depth: usize) -> Result<Value> {
    use ciborium::Value as C;
    if depth > max_depth {
        return Err(Error::resource_exhausted(
            "NESTING_TOO_DEEP",
            "CBOR value nests too deep",
        ));
    }
    Ok(match c {
        C::Null => Value::Null,
        C::Bool(b) => Value::Bool(b),
        C::Integer(i) => {
            let n = i128::from(i);
            i64::try_from(n)
                .map(Value::Int)
                .or_else(|_| u64::try_from(n).map(Value::UInt))
                .unwrap_or(Value::BigInt(n.to_string()))
        }
        C::Float(x) => Value::Float(x),
        C::Text(s) => Value::String(s),
        C::Bytes(b) => Value::Bytes(b),
        C::Array(items) => Value::List(
            items
                .into_iter()
                .map(|x| from_cbor(x, depth + 1, max_depth))
                .collect::<Result<_>>()?,
        ),
        C::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    Ok((
                        from_cbor(k, depth + 1, max_depth)?,
                        from_cbor(v, depth + 1, max_depth)?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        C::Tag(1, inner) => match *inner {
            C::Float(x) => Value::Timestamp(crate::value::Timestamp {
                seconds: x.floor() as i64,
                nanos: ((x - x.floor()) * 1e9).round().min(999_999_999.0) as i32,
            }),
            C::Integer(i) => Value::Timestamp(crate::value::Timestamp {
                seconds: i64::try_from(i).unwrap_or(0),
                nanos: 0,
            }),
            other => from_cbor(other, depth + 1, max_depth)?,
        },
        C::Tag(TAG_RFC3339, inner) => match *inner {
            C::Text(text) => Value::Timestamp(
                crate::value::time::parse_timestamp(&text)
                    .map_err(|e| Error::new(Code::InvalidArgument, e))?,
            ),
            other => from_cbor(other, depth + 1, max_depth)?,
        },
        C::Tag(TAG_DURATION, inner) => match *inner {
            C::Map(entries) => {
                let field = |key: i64| {
                    entries
                        .iter()
                        .find(|(k, _)| matches!(k, C::Integer(i) if i128::from(*i) == i128::from(key)))
                        .and_then(|(_, v)| match v {
                            C::Integer(i) => i64::try_from(*i).ok(),
                            _ => None,
                        })
                        .unwrap_or(0)
                };
                Value::Duration(crate::value::Duration {
                    seconds: field(1),
                    nanos: field(-9) as i32,
                })
            }
            other => from_cbor(other, depth + 1, max_depth)?,
        },
        // RFC 8949 tags 2 and 3: bignums; beyond 64 bits kept as decimal text (out of range).
        C::Tag(tag @ (2 | 3), inner) => match *inner {
            C::Bytes(b) if b.len() <= 16 => {
                let n = b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x));
                let n = i128::try_from(n)
                    .ok()
                    .map(|m| if tag == 2 { m } else { -1 - m });
                match n {
                    Some(n) => i64::try_from(n)
                        .map(Value::Int)
                        .or_else(|_| u64::try_from(n).map(Value::UInt))
                        .unwrap_or(Value::BigInt(n.to_string())),
                    None => Value::BigInt(if tag == 2 { "1e39" } else { "-1e39" }.to_string()),
                }
            }
            C::Bytes(_) => Value::BigInt(if tag == 2 { "1e39" } else { "-1e39" }.to_string()),
            other => from_cbor(other, depth + 1, max_depth)?,
        },
        C::Tag(_, inner) => from_cbor(*inner, depth + 1, max_depth)?,
        _ => Value::Null,
    })
}

/// Encodes a value tree as CBOR.
pub fn encode_cbor(v: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(&to_cbor(v)?, &mut out)
        .map_err(|e| Error::internal(format!("cannot write CBOR: {e}")))?;
    Ok(out)
}

/// Decodes CBOR into a value tree; bad bytes are `InvalidArgument`, nesting past `max_depth`
/// `ResourceExhausted` (`NESTING_TOO_DEEP`).
pub fn decode_cbor(bytes: &[u8], max_depth: usize) -> Result<Value> {
    let c: ciborium::Value =
        ciborium::de::from_reader_with_recursion_limit(bytes, max_depth.saturating_add(1))
            .map_err(|e| match e {
                // Nested past the limit: refused as any too-deep value, not as bad bytes.
                ciborium::de::Error::RecursionLimitExceeded => Error::resource_exhausted(
                    "NESTING_TOO_DEEP",
                    format!("CBOR value nests deeper than the limit of {max_depth}"),
                ),
                e => Error::new(Code::InvalidArgument, format!("invalid CBOR: {e}")),
            })?;
    from_cbor(c, 0, max_depth)
}
