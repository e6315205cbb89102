//! Unary calls with values: a [`Value`] tree, or a binding's own objects walked by the core
//! ([`Input`] for the request, [`Output`] for the reply), so a binding that can look at its
//! objects from Rust sends and receives them with no `Value` tree in between. Both kinds go
//! through the same resolve → encode → call → decode steps; only the walk differs.

use bytes::Bytes;

use super::{CallOptions, Client};
use crate::call::{Blocker, JustWait};
use crate::codec::{never, Codec};
use crate::error::{Code, Error, Result};
use crate::exchange::NativeResult;
use crate::mapping::{Input, Output, ValueOut};
use crate::metadata::Reply;
use crate::schema::{MethodInfo, StreamingKind};
use crate::value::Value;

impl Client {
    /// The method's descriptors and codec for a call, or why it cannot be made.
    pub(super) fn resolve(
        &self,
        method: &str,
        opts: &CallOptions,
    ) -> Result<(Option<MethodInfo>, Codec)> {
        self.inner.versions.refuse(method)?;
        match self.inner.schema.method(method) {
            Some(info) if opts.codec == Some(Codec::Cbor) => Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "method {} has a schema: use the proto or json codec",
                    info.name
                ),
            )),
            Some(info) => Ok((Some(info.clone()), opts.codec.unwrap_or(Codec::Proto))),
            None if self.inner.schemaless.contains(method) || opts.codec == Some(Codec::Cbor) => {
                Ok((None, Codec::Cbor))
            }
            None => Err(Error::unimplemented_method(method)),
        }
    }

    /// Calls a unary method with a value; returns the reply as a value.
    pub async fn call(&self, method: &str, request: &Value, opts: &CallOptions) -> Result<Value> {
        Ok(self
            .call_with_metadata(method, request, opts)
            .await?
            .message)
    }

    /// [`call`](Client::call), returning the response headers and trailers the handler set
    /// with the reply.
    pub async fn call_with_metadata(
        &self,
        method: &str,
        request: &Value,
        opts: &CallOptions,
    ) -> Result<Reply<Value>> {
        never(
            self.call_native(method, &request, opts, &mut ValueOut)
                .await,
        )
    }

    /// [`call_with_metadata`](Client::call_with_metadata) with a binding's own objects: the
    /// request is walked from `request`, the reply made by `out` (a binding whose values
    /// arrive as CBOR walks them with [`CborDoc`](crate::mapping::CborDoc) and
    /// [`CborOut`](crate::mapping::CborOut)). Requests and replies are checked, converted and
    /// refused exactly as for a `Value`.
    pub async fn call_native<I, O>(
        &self,
        method: &str,
        request: &I,
        opts: &CallOptions,
        out: &mut O,
    ) -> NativeResult<Reply<O::Node>, I::Error>
    where
        I: Input,
        O: Output<Error = I::Error>,
    {
        let request = match self.encode_request(method, request, opts)? {
            Ok(request) => request,
            Err(e) => return Ok(Err(e)),
        };
        match self.call_encoded(request, opts).await {
            Ok(reply) => self.decode_reply(reply, out),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Makes a call whose request [`encode_request`](Client::encode_request) walked; its reply
    /// is made into objects by [`decode_reply`](Client::decode_reply). For a binding whose
    /// objects cannot cross threads (Python's, under the GIL): it walks the request before the
    /// call and the reply after, on threads of its own, and the call runs on the runtime.
    pub async fn call_encoded(
        &self,
        request: EncodedRequest,
        opts: &CallOptions,
    ) -> Result<EncodedReply> {
        let EncodedRequest {
            info,
            codec,
            name,
            bytes,
        } = request;
        let reply = self.call_bytes(&name, bytes, opts, codec).await?;
        Ok(EncodedReply { info, codec, reply })
    }

    /// [`call`](Client::call) from synchronous code. On `unix://` the call is made on the
    /// calling thread, which reads its reply itself (no runtime thread takes part); on the
    /// other transports, and on a thread of a tokio runtime, it waits for the async call.
    pub fn call_blocking(
        &self,
        method: &str,
        request: &Value,
        opts: &CallOptions,
    ) -> Result<Value> {
        Ok(self
            .call_with_metadata_blocking(method, request, opts)?
            .message)
    }

    /// [`call_with_metadata`](Client::call_with_metadata) from synchronous code, as
    /// [`call_blocking`](Client::call_blocking) makes it.
    pub fn call_with_metadata_blocking(
        &self,
        method: &str,
        request: &Value,
        opts: &CallOptions,
    ) -> Result<Reply<Value>> {
        self.call_with_metadata_blocking_in(method, request, opts, &JustWait)
    }

    /// [`call_with_metadata_blocking`](Client::call_with_metadata_blocking) whose waits go
    /// through `blocker` (see [`Blocker`]): a binding with a runtime lock gives it up there.
    pub fn call_with_metadata_blocking_in(
        &self,
        method: &str,
        request: &Value,
        opts: &CallOptions,
        blocker: &dyn Blocker,
    ) -> Result<Reply<Value>> {
        never(self.call_native_blocking_in(method, &request, opts, blocker, &mut ValueOut))
    }

    /// [`call_with_metadata_blocking_in`](Client::call_with_metadata_blocking_in) with a
    /// binding's own objects: the request is walked from `request`, the reply made by `out`.
    /// Requests and replies are checked, converted and refused exactly as for a `Value`. The
    /// call itself runs inside [`Blocker::unlocked`].
    pub fn call_native_blocking_in<I, O>(
        &self,
        method: &str,
        request: &I,
        opts: &CallOptions,
        blocker: &dyn Blocker,
        out: &mut O,
    ) -> NativeResult<Reply<O::Node>, I::Error>
    where
        I: Input,
        O: Output<Error = I::Error>,
    {
        let request = match self.encode_request(method, request, opts)? {
            Ok(request) => request,
            Err(e) => return Ok(Err(e)),
        };
        let EncodedRequest {
            info,
            codec,
            name,
            bytes,
        } = request;
        let (mut bytes, mut reply) = (Some(bytes), None);
        blocker.unlocked(&mut || {
            if let Some(bytes) = bytes.take() {
                reply = Some(self.call_bytes_blocking(&name, bytes, opts, codec, blocker));
            }
        });
        match reply {
            Some(Ok(reply)) => self.decode_reply(EncodedReply { info, codec, reply }, out),
            Some(Err(e)) => Ok(Err(e)),
            None => Ok(Err(Error::new(
                Code::Cancelled,
                "the call was interrupted before it started",
            ))),
        }
    }

    /// Resolves a unary method and walks its request from `request`, checked, converted and
    /// refused as for a `Value`, for [`call_encoded`](Client::call_encoded).
    pub fn encode_request<I: Input>(
        &self,
        method: &str,
        request: &I,
        opts: &CallOptions,
    ) -> NativeResult<EncodedRequest, I::Error> {
        let (info, codec) = match self.resolve(method, opts) {
            Ok(resolved) => resolved,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(i) = &info {
            if i.kind() != StreamingKind::Unary {
                return Ok(Err(Error::new(
                    Code::FailedPrecondition,
                    format!(
                        "method {} is {}; use a streaming call",
                        i.name,
                        i.kind().name()
                    ),
                )));
            }
        }
        let depth = self.inner.limits.max_depth;
        let input = info.as_ref().map(|i| i.input());
        let conv = Some(&self.inner.converters);
        let bytes = match codec.encode_converted(input.as_ref(), request, depth, conv)? {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.inner.limits.check_message(bytes.len(), "request") {
            return Ok(Err(e));
        }
        let name = info.as_ref().map_or(method.to_string(), |i| i.name.clone());
        Ok(Ok(EncodedRequest {
            info,
            codec,
            name,
            bytes: bytes.into(),
        }))
    }

    /// Makes the reply of [`call_encoded`](Client::call_encoded) into objects with `out`,
    /// checked and converted as for a `Value`.
    pub fn decode_reply<O: Output>(
        &self,
        reply: EncodedReply,
        out: &mut O,
    ) -> NativeResult<Reply<O::Node>, O::Error> {
        let EncodedReply { info, codec, reply } = reply;
        let output = info.as_ref().map(|i| i.output());
        let limits = &self.inner.limits;
        let decoded = codec.decode_converted(
            output.as_ref(),
            &reply.message,
            limits.max_depth,
            self.inner.decode,
            Some(&self.inner.converters),
            out,
        )?;
        Ok(decoded.map(|message| Reply {
            message,
            headers: reply.headers,
            trailers: reply.trailers,
        }))
    }
}

/// A unary request walked ahead of its call ([`Client::encode_request`]): the method (none
/// for a schemaless one), its codec, full name and the request's bytes.
#[derive(Debug, Clone)]
pub struct EncodedRequest {
    info: Option<MethodInfo>,
    codec: Codec,
    name: String,
    bytes: Bytes,
}

/// The reply of [`Client::call_encoded`], still bytes, for [`Client::decode_reply`].
#[derive(Debug)]
pub struct EncodedReply {
    info: Option<MethodInfo>,
    codec: Codec,
    reply: Reply<Bytes>,
}
