//! Streaming handlers: a foreign function serving a streaming method of any kind, reading
//! requests and sending replies through an [`HmsServerStream`] (the core's `ServerStream`),
//! and ending the call through its [`HmsCall`] like a unary handler.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use bytes::Bytes;

use crate::call::HmsCall;
use crate::error::{guard, obj, HmsError};
use crate::ocore::handler::{run_blocking, BoxFuture, StreamHandler};
use crate::ocore::later::reply_later;
use crate::ocore::limits::DEFAULT_MAX_DEPTH;
use crate::ocore::mapping::CborDoc;
use crate::ocore::{self, Error, RequestStream, ResponseSink, ServerStream};
use crate::server::{registration, HmsServer};
use crate::{fill_next, fill_one, message_out, HmsBytes, HmsFormat};

/// The requests and replies of one streaming call on the server; valid until its call is
/// completed. Every function on it may be called from any thread; a receive and a send may run
/// at the same time.
#[derive(Debug)]
pub struct HmsServerStream {
    stream: ServerStream,
    format: HmsFormat,
}

/// A streaming handler: called on a thread of hms-ffi's blocking pool for each call, it may
/// block for as long as the stream lasts. It completes `call` exactly once, with
/// [`crate::hms_call_end`] (success) or [`crate::hms_call_fail`], from any thread, before or
/// after returning; `stream` is valid until then.
pub type HmsStreamHandlerFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        call: *mut HmsCall,
        stream: *const HmsServerStream,
    ),
>;

#[derive(Clone, Copy)]
struct Foreign {
    f: unsafe extern "C" fn(*mut c_void, *mut HmsCall, *const HmsServerStream),
    user_data: *mut c_void,
    format: HmsFormat,
}

// SAFETY: the header's contract requires handlers and their user data to be thread-safe.
unsafe impl Send for Foreign {}
unsafe impl Sync for Foreign {}

impl StreamHandler for Foreign {
    fn call(
        &self,
        requests: RequestStream,
        sink: ResponseSink,
        ctx: ocore::Context,
    ) -> BoxFuture<'static, ocore::Result<()>> {
        let me = *self;
        Box::pin(async move {
            let stream = Arc::new(HmsServerStream {
                stream: ServerStream::new(requests, sink),
                format: me.format,
            });
            let (later, ended) = reply_later();
            let call = HmsCall {
                ctx,
                exchange: None,
                reply: later,
            };
            let handed = stream.clone();
            let call = SendPtr(Box::into_raw(Box::new(call)));
            // SAFETY: the call is handed over to the handler, which completes (and frees) it;
            // the stream lives until the call is completed.
            run_blocking(move || {
                me.invoke(call, &handed);
                Ok(())
            })
            .await?;
            let ended = ended.await.map(|_| ());
            drop(stream);
            ended
        })
    }
}

impl Foreign {
    /// Hands the call over to the handler.
    fn invoke(self, call: SendPtr, stream: &Arc<HmsServerStream>) {
        // SAFETY: the header's contract for `HmsStreamHandlerFn`.
        unsafe { (self.f)(self.user_data, call.get(), Arc::as_ptr(stream)) }
    }
}

/// A raw pointer moved to the blocking thread that hands it to the handler.
struct SendPtr(*mut HmsCall);

// SAFETY: the call is owned by whoever holds the pointer; it is handed over exactly once.
unsafe impl Send for SendPtr {}

impl SendPtr {
    fn get(self) -> *mut HmsCall {
        self.0
    }
}

/// Registers `handler` for the streaming method `method` (server-, client- or
/// bidi-streaming), exchanging messages in `format`. A unary method is refused with
/// `FAILED_PRECONDITION`.
#[no_mangle]
pub unsafe extern "C" fn hms_server_handle_stream(
    server: *const HmsServer,
    method: *const c_char,
    format: HmsFormat,
    handler: HmsStreamHandlerFn,
    user_data: *mut c_void,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let (server, method, f) = registration(server, method, handler)?;
        let foreign = Foreign {
            f,
            user_data,
            format,
        };
        server.0.stream_handler(method, Arc::new(foreign))
    })
}

/// Receives the next request. Returns 0 with `*end` false and `*message` filled (free it with
/// `hms_bytes_free`), 0 with `*end` true once the client has half-closed, or the error's code
/// (`CANCELLED` once the caller has gone or the deadline passed) with `*err` set.
#[no_mangle]
pub unsafe extern "C" fn hms_server_stream_recv(
    stream: *const HmsServerStream,
    message: *mut HmsBytes,
    end: *mut bool,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(stream, "stream")?;
        fill_next(
            message,
            end,
            || s.stream.recv_bytes_blocking(),
            |b| s.to_caller(b),
        )
    })
}

/// The one request of a server-streaming call (free it with `hms_bytes_free`);
/// `INVALID_ARGUMENT` when the client half-closed without sending one.
#[no_mangle]
pub unsafe extern "C" fn hms_server_stream_recv_first(
    stream: *const HmsServerStream,
    message: *mut HmsBytes,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(stream, "stream")?;
        fill_one(
            message,
            || s.stream.first_bytes_blocking(),
            |b| s.to_caller(b),
        )
    })
}

/// Sends one reply in the stream's format. It blocks while the caller has not read a window's
/// worth of what was sent (flow control). A reply that does not fit the response type is
/// `INTERNAL`; `CANCELLED` once the caller has gone.
#[no_mangle]
pub unsafe extern "C" fn hms_server_stream_send(
    stream: *const HmsServerStream,
    data: *const u8,
    len: usize,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(stream, "stream")?;
        let bytes = crate::slice(data, len);
        let bytes = match s.format {
            HmsFormat::Proto => Bytes::copy_from_slice(bytes),
            HmsFormat::Value => {
                // CBOR that does not read is the handler's fault, as a reply that does not fit.
                let doc = CborDoc::parse(bytes, DEFAULT_MAX_DEPTH).map_err(Error::invalid_reply)?;
                s.stream.encode(&doc.root())??
            }
        };
        s.stream.send_encoded(bytes)
    })
}

impl HmsServerStream {
    /// A request's bytes in the handler's format.
    fn to_caller(&self, bytes: &[u8]) -> ocore::Result<HmsBytes> {
        message_out(self.format, bytes, |b, o| {
            self.stream.exchange().request(b, o)
        })
    }
}

/// Completes a streaming call successfully (its replies have been sent), and frees `call`.
#[no_mangle]
pub unsafe extern "C" fn hms_call_end(call: *mut HmsCall) {
    if !call.is_null() {
        let call = Box::from_raw(call);
        let _ = call.reply.send(Ok(Bytes::new()));
    }
}
