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

/// Encodes a value tree as CBOR (see [`crate::cbor`]).
pub fn encode_cbor(v: &Value) -> Result<Vec<u8>> {
    crate::cbor::encode(v)
}

/// Decodes CBOR into a value tree; bad bytes are `InvalidArgument`, nesting past `max_depth`
/// `ResourceExhausted` (`NESTING_TOO_DEEP`).
pub fn decode_cbor(bytes: &[u8], max_depth: usize) -> Result<Value> {
    crate::cbor::decode(bytes, max_depth)
}
