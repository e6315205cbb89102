//! [`CallResponse`]: what a JavaScript handler writes back besides its reply, the response
//! headers and trailers (gRPC initial and trailing metadata).

use std::sync::Arc;

use bytes::Bytes;
use hms_ffi_core as core;
use hms_ffi_core::later::LaterReply;
use hms_ffi_core::Exchange;
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::error::{from_native, js, CallOutcome};
use crate::values::from_js;

/// The response side of one call, handed to the handler with its request: headers and
/// trailers set here go back with the reply (or the error), and `finish` ends the call. Keys
/// are checked by the core: protocol keys (`grpc-*`, `content-type`, …) and non-printable text
/// are `INVALID_ARGUMENT`, a `Buffer` value needs a `-bin` key.
#[napi]
#[derive(Debug)]
pub struct CallResponse {
    ctx: core::Context,
    ending: Ending,
}

/// How the call ends: a unary call with its reply, encoded by the route's exchange; a stream
/// (whose replies went out already) with nothing or an error.
#[derive(Debug)]
enum Ending {
    Reply(LaterReply<Bytes>, Arc<Exchange>),
    Stream(LaterReply<()>),
}

impl CallResponse {
    pub(crate) fn new(
        ctx: core::Context,
        reply: LaterReply<Bytes>,
        exchange: Arc<Exchange>,
    ) -> CallResponse {
        CallResponse {
            ctx,
            ending: Ending::Reply(reply, exchange),
        }
    }

    /// What calls made for this handler inherit: its deadline, cancellation and trace.
    pub(crate) fn inherited(&self) -> core::context::Inherited {
        self.ctx.inherited()
    }

    /// The response of a streaming call.
    pub(crate) fn for_stream(ctx: core::Context, end: LaterReply<()>) -> CallResponse {
        CallResponse {
            ctx,
            ending: Ending::Stream(end),
        }
    }
}

#[napi]
impl CallResponse {
    /// Ends the call with the handler's outcome (a CBOR reply or an error; for a stream, no
    /// error is success, its replies having been sent); false when it had
    /// ended already (answered, or the caller gone). The reply's CBOR is walked to protobuf
    /// and written on this thread, so a local call's answer wakes no other thread of this
    /// process. Never throws: a reply that does not convert fails the call with `INTERNAL`.
    #[napi]
    pub fn finish(&self, outcome: CallOutcome) -> bool {
        let (reply, exchange) = match &self.ending {
            Ending::Stream(end) => {
                return end.send(outcome.error.map_or(Ok(()), |e| Err(from_native(e))))
            }
            Ending::Reply(reply, exchange) => (reply, exchange),
        };
        let result = match (outcome.error, outcome.reply) {
            (Some(e), _) => Err(from_native(e)),
            (None, Some(reply)) => from_js(&reply, |doc| exchange.reply(doc)),
            (None, None) => Err(core::Error::new(
                core::Code::Internal,
                "handler gave no reply",
            )),
        };
        reply.send(result)
    }

    /// Adds a response header: a string, or a `Buffer` for a `-bin` key.
    #[napi]
    pub fn set_header(&self, key: String, value: Either<String, Buffer>) -> napi::Result<()> {
        js(match value {
            Either::A(text) => self.ctx.set_header(&key, text),
            Either::B(bytes) => self.ctx.set_header_bin(&key, &bytes),
        })
    }

    /// Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`);
    /// later `setHeader` calls are `FAILED_PRECONDITION`, a second call does nothing.
    #[napi]
    pub fn send_headers(&self) {
        self.ctx.send_headers();
    }

    /// Adds a response trailer: a string, or a `Buffer` for a `-bin` key.
    #[napi]
    pub fn set_trailer(&self, key: String, value: Either<String, Buffer>) -> napi::Result<()> {
        js(match value {
            Either::A(text) => self.ctx.set_trailer(&key, text),
            Either::B(bytes) => self.ctx.set_trailer_bin(&key, &bytes),
        })
    }
}
