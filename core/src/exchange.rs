//! [`Exchange`]: how a server route turns request bytes into values and reply values into
//! bytes for one codec — the limits, the decoding options and the rule that a reply which does
//! not fit its type is the handler's fault (`Internal`, not the caller's `InvalidArgument`).
//!
//! Every handler goes through it: value handlers with [`Value`] trees, and a binding's native
//! handlers ([`NativeHandler`](crate::handler::NativeHandler)) with its own objects
//! ([`Input`], [`Output`]), so the rules are written once whichever walk a binding uses.

use bytes::Bytes;
use prost_reflect::MessageDescriptor;

use crate::codec::{never, Codec};
use crate::error::{Code, Error, Result};
use crate::limits::Limits;
use crate::mapping::{Converters, DecodeOptions, Input, Output, ValueOut};
use crate::value::Value;

/// A call's outcome for a binding's own objects: the outer error is the binding's own
/// conversion failing (a Python exception), the inner one the call's.
pub type NativeResult<T, E> = std::result::Result<Result<T>, E>;

/// A route's decoder for requests and encoder for replies, for one codec.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub(crate) codec: Codec,
    /// The request and reply types (`None` for a schemaless method, which takes CBOR).
    pub(crate) input: Option<MessageDescriptor>,
    pub(crate) output: Option<MessageDescriptor>,
    pub(crate) limits: Limits,
    pub(crate) present: DecodeOptions,
    /// Converters for custom domain types, on requests and replies.
    pub(crate) converters: Converters,
}

impl Exchange {
    /// The codec the caller chose.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// A request's bytes made into the binding's objects by `out`. Too large is
    /// `ResourceExhausted`; bytes that are not a message of the type are `InvalidArgument`.
    pub fn request<O: Output>(&self, bytes: &[u8], out: &mut O) -> NativeResult<O::Node, O::Error> {
        if let Err(e) = self.limits.check_message(bytes.len(), "request") {
            return Ok(Err(e));
        }
        self.codec.decode_converted(
            self.input.as_ref(),
            bytes,
            self.limits.max_depth,
            self.present,
            Some(&self.converters),
            out,
        )
    }

    /// A reply walked from the binding's objects. A reply that does not fit the response type
    /// is `Internal` (the handler broke the schema; the violations are in the details); too
    /// large is `ResourceExhausted`.
    pub fn reply<I: Input>(&self, reply: &I) -> NativeResult<Bytes, I::Error> {
        let encoded = self.codec.encode_converted(
            self.output.as_ref(),
            reply,
            self.limits.max_depth,
            Some(&self.converters),
        )?;
        Ok(encoded.map_err(handler_fault).and_then(|bytes| {
            self.limits.check_message(bytes.len(), "response")?;
            Ok(Bytes::from(bytes))
        }))
    }

    /// [`request`](Exchange::request) as a [`Value`].
    pub fn request_value(&self, bytes: &[u8]) -> Result<Value> {
        never(self.request(bytes, &mut ValueOut))
    }

    /// [`reply`](Exchange::reply) from a [`Value`].
    pub fn reply_value(&self, reply: &Value) -> Result<Bytes> {
        never(self.reply(&reply))
    }
}

/// A reply the codec refused as invalid is the handler's fault: `InvalidArgument` becomes
/// `Internal` with the same details (for a binding that walks a reply itself, such as Node's
/// encoder running a converter).
pub fn handler_fault(e: Error) -> Error {
    if e.code() == Code::InvalidArgument {
        Error::new(
            Code::Internal,
            format!("handler returned an invalid response: {}", e.message()),
        )
        .with_details(e.details().clone())
    } else {
        e
    }
}
