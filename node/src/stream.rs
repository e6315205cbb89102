//! Streams: the core's [`StreamCall`] (client) and [`ServerStream`] (handler) as JavaScript
//! sees them. Every wait (the next message, a window to send into) runs on the core's runtime
//! and settles a Promise with a [`CallOutcome`] that never rejects: a message, the end (neither
//! reply nor error, with the response metadata), or the error. The async-iterable idiom is the
//! package's (`lib/streams.js`); the stream rules are the core's.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::mapping::CborDoc;
use hms_ffi_core::{self as core, runtime, ServerStream as CoreServerStream, StreamCall};
use napi::bindgen_prelude::{Buffer, Object};
use napi::Env;
use napi_derive::napi;

use crate::error::{to_native, CallOutcome, NativeError};
use crate::values::{from_js, to_js};

/// Runs `work` on the core's runtime and settles a Promise with its outcome.
fn settle<'env, F>(env: &'env Env, work: F) -> napi::Result<Object<'env>>
where
    F: Future<Output = CallOutcome> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    runtime::handle().spawn(async move {
        let outcome = work.await;
        deferred.resolve(move |_| Ok(outcome));
    });
    Ok(promise)
}

/// The outcome of a send: nothing, or the error.
fn sent(r: core::Result<()>) -> CallOutcome {
    match r {
        Ok(()) => CallOutcome::done(),
        Err(e) => CallOutcome::failed(&e),
    }
}

/// The outcome of a read: a CBOR message, the end, or the error.
fn read(next: Option<core::Result<Buffer>>) -> CallOutcome {
    match next {
        None => CallOutcome::done(),
        Some(r) => CallOutcome::from_result(r),
    }
}

/// Replies read at once ([`ClientStream::recv_batch`]).
#[napi(object)]
pub struct StreamBatch {
    /// The replies, as CBOR, in order.
    pub replies: Vec<Buffer>,
    /// Whether the call has ended (successfully, or with `error`).
    pub end: bool,
    /// How the call failed, after `replies`.
    pub error: Option<NativeError>,
    /// The response headers, at the end.
    pub headers: Option<HashMap<String, String>>,
    /// The response trailers, at the end.
    pub trailers: Option<HashMap<String, String>>,
}

impl std::fmt::Debug for StreamBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBatch")
            .field("replies", &self.replies.len())
            .field("end", &self.end)
            .finish()
    }
}

/// The client side of a streaming call.
#[napi]
#[derive(Debug)]
pub struct ClientStream {
    call: Arc<StreamCall>,
}

impl ClientStream {
    pub(crate) fn new(call: StreamCall) -> ClientStream {
        ClientStream {
            call: Arc::new(call),
        }
    }
}

#[napi]
impl ClientStream {
    /// `server_streaming`, `client_streaming` or `bidi_streaming`.
    #[napi(getter)]
    pub fn kind(&self) -> &'static str {
        self.call.kind().name()
    }

    /// The response headers once they have arrived (the first value of each key): before the
    /// first reply when the handler sent them early, else with it or at the end.
    #[napi(getter)]
    pub fn headers(&self) -> Option<HashMap<String, String>> {
        self.call.headers().map(|m| m.first_values())
    }

    /// Sends one CBOR request; settles once the server's window has room for it (flow
    /// control), with an error when it does not fit the method or the stream is closed.
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn send<'env>(&self, env: &'env Env, request: Buffer) -> napi::Result<Object<'env>> {
        let encoded = from_js(&request, |doc| self.call.encode_input(doc));
        let call = self.call.clone();
        settle(env, async move {
            match encoded {
                Ok(bytes) => sent(call.send_encoded_async(bytes).await),
                Err(e) => sent(Err(e)),
            }
        })
    }

    /// Half-closes: no more requests.
    #[napi]
    pub fn close_send(&self) {
        self.call.close_send();
    }

    /// Cancels the call: the server's handler sees it, and a read waiting settles `CANCELLED`.
    #[napi]
    pub fn cancel(&self) {
        self.call.cancel();
    }

    /// The next reply: a CBOR message, the end (with the response headers and trailers), or
    /// the error.
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn recv<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let call = self.call.clone();
        settle(env, async move {
            let next = call.recv_bytes().await;
            let next = next.map(|r| r.and_then(|b| to_js(|o| call.decoder().decode_output(&b, o))));
            let mut outcome = read(next);
            if outcome.reply.is_none() {
                outcome.headers = Some(call.headers().unwrap_or_default().first_values());
                outcome.trailers = Some(call.trailers().first_values());
            }
            outcome
        })
    }

    /// The next replies, up to `max` at once: it waits for the first, then takes those already
    /// here, so a fast stream settles one Promise per batch rather than per message. `end`
    /// once the server ended the call (with the response headers and trailers) or `error`,
    /// after the replies before it.
    #[napi(ts_return_type = "Promise<StreamBatch>")]
    pub fn recv_batch<'env>(&self, env: &'env Env, max: u32) -> napi::Result<Object<'env>> {
        let call = self.call.clone();
        let (deferred, promise) = env.create_deferred()?;
        runtime::handle().spawn(async move {
            let batch = call.recv_batch(max as usize).await;
            // A reply that does not convert ends the stream there (the core's rule).
            let (replies, end) =
                batch.convert(&call, |b| to_js(|o| call.decoder().decode_output(b, o)));
            let mut out = StreamBatch {
                replies,
                end: end.is_some(),
                error: None,
                headers: None,
                trailers: None,
            };
            if let Some(Err(e)) = end {
                out.error = Some(to_native(&e));
            }
            if out.end {
                out.headers = Some(call.headers().unwrap_or_default().first_values());
                out.trailers = Some(call.trailers().first_values());
            }
            deferred.resolve(move |_| Ok(out));
        });
        Ok(promise)
    }

    /// The one reply of a client-streaming call, read to the end (`INTERNAL` when the server
    /// sent none or more than one).
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn recv_only<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let call = self.call.clone();
        settle(env, async move {
            let one = call.recv_only_bytes().await;
            let one = one.and_then(|b| to_js(|o| call.decoder().decode_output(&b, o)));
            let mut outcome = read(Some(one));
            outcome.headers = Some(call.headers().unwrap_or_default().first_values());
            outcome.trailers = Some(call.trailers().first_values());
            outcome
        })
    }
}

/// The server side of one streaming call, handed to the handler.
#[napi]
#[derive(Debug)]
pub struct ServerStream {
    stream: Arc<CoreServerStream>,
}

impl ServerStream {
    pub(crate) fn new(stream: CoreServerStream) -> ServerStream {
        ServerStream {
            stream: Arc::new(stream),
        }
    }

    /// A CBOR reply walked to the response's bytes; CBOR that does not read is the handler's
    /// `INTERNAL`, as a reply that does not fit the type is.
    fn encode(&self, reply: &[u8]) -> core::Result<Bytes> {
        let doc = CborDoc::parse(reply, DEFAULT_MAX_DEPTH).map_err(core::Error::invalid_reply)?;
        self.stream.encode(&doc.root())?
    }
}

#[napi]
impl ServerStream {
    /// The next request: a CBOR message, the end (the client half-closed), or the error
    /// (`CANCELLED` once the caller has gone).
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn recv<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let stream = self.stream.clone();
        settle(env, async move {
            let next = stream.recv_bytes().await;
            read(next.map(|r| r.and_then(|b| to_js(|o| stream.exchange().request(&b, o)))))
        })
    }

    /// The one request of a server-streaming call (`INVALID_ARGUMENT` when none came).
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn recv_first<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let stream = self.stream.clone();
        settle(env, async move {
            let first = stream.first_bytes().await;
            read(Some(
                first.and_then(|b| to_js(|o| stream.exchange().request(&b, o))),
            ))
        })
    }

    /// Sends one CBOR reply at once when the caller's window has room for it: the outcome
    /// (nothing, or the error), or `null` when it must wait (then call `send`). A fast stream
    /// thus costs no Promise per message.
    #[napi]
    pub fn try_send(&self, reply: Buffer) -> Option<CallOutcome> {
        let bytes = match self.encode(&reply) {
            Ok(bytes) => bytes,
            Err(e) => return Some(sent(Err(e))),
        };
        runtime::now_or_never(self.stream.send_encoded_async(bytes)).map(sent)
    }

    /// Sends one CBOR reply; settles once the caller's window has room for it (flow control),
    /// with `INTERNAL` when it does not fit the response type and `CANCELLED` once the caller
    /// has gone.
    #[napi(ts_return_type = "Promise<CallOutcome>")]
    pub fn send<'env>(&self, env: &'env Env, reply: Buffer) -> napi::Result<Object<'env>> {
        let encoded = self.encode(&reply);
        let stream = self.stream.clone();
        settle(env, async move {
            match encoded {
                Ok(bytes) => sent(stream.send_encoded_async(bytes).await),
                Err(e) => sent(Err(e)),
            }
        })
    }
}
