//! Codecs: protobuf binary (default), protobuf canonical JSON, and CBOR for schemaless calls.

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::error::{Code, Error, Result};
use crate::mapping::{self, json, Converters, DecodeOptions, Input, MapOptions, Output, ValueOut};
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
        never(self.encode_input(desc, &value, max_depth))
    }

    /// Encodes a binding's own objects ([`Input`]): plainly valid protobuf in one pass with no
    /// `Value` tree, the rest through the tree [`Input::to_value`] gives, exactly as
    /// [`encode`](Codec::encode) would. The outer error is the binding's conversion failing.
    pub fn encode_input<I: Input>(
        self,
        desc: Option<&MessageDescriptor>,
        input: &I,
        max_depth: usize,
    ) -> std::result::Result<Result<Vec<u8>>, I::Error> {
        self.encode_converted(desc, input, max_depth, None)
    }

    /// [`encode_input`](Codec::encode_input) with converters for custom domain types
    /// ([`mapping::convert`]); `None` (or none registered) walks exactly as without.
    pub fn encode_converted<I: Input>(
        self,
        desc: Option<&MessageDescriptor>,
        input: &I,
        max_depth: usize,
        conv: Option<&Converters>,
    ) -> std::result::Result<Result<Vec<u8>>, I::Error> {
        let conv = conv.and_then(Converters::active);
        if let (Codec::Proto, Some(d)) = (self, desc) {
            if let Some(bytes) = mapping::wire_out::encode(d, input, max_depth, conv) {
                return Ok(Ok(bytes));
            }
        }
        let value = match (conv, desc, self) {
            (Some(c), Some(d), Codec::Proto | Codec::Json) => {
                match mapping::guided::value_of(d, input, c) {
                    Ok(v) => std::borrow::Cow::Owned(v),
                    // The binding's error with the whole message's path, as without converters.
                    Err(mapping::guided::Fail::Native(e)) => return input.to_value().and(Err(e)),
                    Err(mapping::guided::Fail::Convert(e)) => return Ok(Err(e)),
                }
            }
            _ => input.to_value()?,
        };
        let opts = MapOptions {
            json: false,
            max_depth,
        };
        Ok(match (self, desc) {
            (Codec::Proto, Some(d)) => {
                mapping::to_message(d, &value, &opts).map(|m| m.encode_to_vec())
            }
            (Codec::Json, Some(d)) => mapping::to_message(d, &value, &opts)
                .and_then(|msg| Ok(json::message_to_json(&msg, true)?.into_bytes())),
            (Codec::Cbor, _) => encode_cbor(&value),
            (_, None) => Err(self.needs_schema()),
        })
    }

    fn needs_schema(self) -> Error {
        Error::new(
            Code::FailedPrecondition,
            format!("the {} codec needs a schema for the message", self.name()),
        )
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
        never(self.decode_output(desc, bytes, max_depth, o, &mut ValueOut))
    }

    /// Decodes bytes into a binding's own objects ([`Output`]): a valid protobuf message in
    /// one pass with no `Value` tree, the rest through the tree [`decode_with`](Codec::decode_with)
    /// gives. The outer error is the binding failing to make its objects.
    pub fn decode_output<O: Output>(
        self,
        desc: Option<&MessageDescriptor>,
        bytes: &[u8],
        max_depth: usize,
        o: DecodeOptions,
        out: &mut O,
    ) -> std::result::Result<Result<O::Node>, O::Error> {
        self.decode_converted(desc, bytes, max_depth, o, None, out)
    }

    /// [`decode_output`](Codec::decode_output) with converters for custom domain types
    /// ([`mapping::convert`]); `None` (or none registered) reads exactly as without.
    pub fn decode_converted<O: Output>(
        self,
        desc: Option<&MessageDescriptor>,
        bytes: &[u8],
        max_depth: usize,
        o: DecodeOptions,
        conv: Option<&Converters>,
        out: &mut O,
    ) -> std::result::Result<Result<O::Node>, O::Error> {
        let conv = conv.and_then(Converters::active);
        let value = match (self, desc) {
            (Codec::Proto, Some(d)) => {
                // Valid messages in one pass; the general path below for the rest, and for
                // the errors.
                if let Some(node) = mapping::wire::decode(d, bytes, max_depth, o, conv, out) {
                    return Ok(Ok(node));
                }
                decode_proto(d, bytes).and_then(|m| {
                    if !message_within(&m, max_depth) {
                        return Err(Error::resource_exhausted(
                            "NESTING_TOO_DEEP",
                            format!("message nests deeper than the limit of {max_depth}"),
                        ));
                    }
                    Ok(mapping::from_message_with(&m, o))
                })
            }
            (Codec::Json, Some(d)) => std::str::from_utf8(bytes)
                .map_err(|_| Error::new(Code::InvalidArgument, "JSON message is not valid UTF-8"))
                .and_then(|text| json::message_from_json(d, text, max_depth))
                .map(|m| mapping::from_message_with(&m, o)),
            (Codec::Cbor, _) => decode_cbor(bytes, max_depth),
            (_, None) => Err(self.needs_schema()),
        };
        match (value, conv, desc) {
            (Ok(v), Some(c), Some(d)) if self != Codec::Cbor => {
                match mapping::guided::output_of(d, v, c, out) {
                    Ok(node) => Ok(Ok(node)),
                    Err(mapping::guided::Fail::Native(e)) => Err(e),
                    Err(mapping::guided::Fail::Convert(e)) => Ok(Err(e)),
                }
            }
            (Ok(v), _, _) => out.value(v).map(Ok),
            (Err(e), _, _) => Ok(Err(e)),
        }
    }
}

/// The value of a conversion that cannot fail on the binding's side.
pub(crate) fn never<T>(r: std::result::Result<T, std::convert::Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(e) => match e {},
    }
}

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
