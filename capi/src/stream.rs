//! Client streams: open a streaming call of any kind, send, half-close, receive, read the
//! response metadata, cancel. Every function may be called from any thread; a send and a
//! receive may run at the same time on two threads, and a cancel ends a receive waiting on
//! another. The stream rules (flow control, deadlines, what a send after the end does) are the
//! core's `StreamCall`.

use std::ffi::c_char;

use bytes::Bytes;

use crate::async_call::metadata_json;
use crate::call_options::{HmsCallOptions, Options};
use crate::client::HmsClient;
use crate::error::{guard, obj, text, HmsError};
use crate::ocore::{Code, Error, StreamCall};
use crate::{
    fill_next, fill_one, from_cbor, message_into, message_out, slice, HmsBytes, HmsFormat,
};

/// A streaming call on the client; free it with [`hms_client_stream_free`].
#[derive(Debug)]
pub struct HmsClientStream {
    call: StreamCall,
    format: HmsFormat,
}

/// Opens a streaming call (server-, client- or bidi-streaming) of `method`, exchanging
/// messages in `format`; blocks until the connection is ready. `timeout_ms` ≤ 0 means no
/// deadline; the deadline covers the whole stream. `metadata` holds `n_metadata` key/value
/// pairs as 2×n strings. A unary method is refused with `FAILED_PRECONDITION`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hms_client_open_stream(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    timeout_ms: i64,
    metadata_kv: *const *const c_char,
    n_metadata: usize,
    out: *mut *mut HmsClientStream,
    err: *mut *mut HmsError,
) -> i32 {
    let options = HmsCallOptions::basic(timeout_ms, metadata_kv, n_metadata);
    hms_client_open_stream_with_options(client, method, format, &options, out, err)
}

/// [`hms_client_open_stream`] with its options in one struct (NULL: the defaults), which also
/// holds `wait_for_ready`.
#[no_mangle]
pub unsafe extern "C" fn hms_client_open_stream_with_options(
    client: *const HmsClient,
    method: *const c_char,
    format: HmsFormat,
    options: *const HmsCallOptions,
    out: *mut *mut HmsClientStream,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let client = obj(client, "client")?;
        let method = text(method, "method")?;
        if out.is_null() {
            return Err(Error::new(Code::InvalidArgument, "out is NULL"));
        }
        let opts = Options::read(options)?.to_core(None);
        let call = StreamCall::open_blocking(&client.0, method, &opts)?;
        *out = Box::into_raw(Box::new(HmsClientStream { call, format }));
        Ok(())
    })
}

/// Sends one request in the stream's format. It blocks while the server has not read a
/// window's worth of what was sent (flow control). `FAILED_PRECONDITION` after
/// [`hms_client_stream_close_send`], `CANCELLED` after [`hms_client_stream_cancel`];
/// once the server has ended the call, requests are dropped and a receive tells how it ended.
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_send(
    stream: *const HmsClientStream,
    data: *const u8,
    len: usize,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(stream, "stream")?;
        let bytes = slice(data, len);
        let bytes = match s.format {
            HmsFormat::Proto => Bytes::copy_from_slice(bytes),
            HmsFormat::Value => from_cbor(bytes, |doc| s.call.encode_input(doc))?,
        };
        s.call.send_encoded(bytes)
    })
}

/// Half-closes the stream: no more requests (NULL-safe).
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_close_send(stream: *const HmsClientStream) {
    if let Some(s) = stream.as_ref() {
        s.call.close_send();
    }
}

/// Receives the next response. Returns 0 with `*end` false and `*message` filled (free it
/// with `hms_bytes_free`), 0 with `*end` true once the server ended the call successfully, or
/// the error's code (the server's error, `DEADLINE_EXCEEDED`, `CANCELLED`…) with `*err` set.
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_recv(
    stream: *const HmsClientStream,
    message: *mut HmsBytes,
    end: *mut bool,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(stream, "stream")?;
        fill_next(
            message,
            end,
            || s.call.recv_bytes_blocking(),
            |b| s.to_caller(b),
        )
    })
}

/// Receives every response that is already here, waiting for the first: at most `max` (0 means
/// 256) in one call, so a fast stream costs one call per batch rather than per message.
/// `*batch` gets them one after the other, each as a 4-byte little-endian length and the
/// message in the stream's format (free it with `hms_bytes_free`; empty when none came before
/// the end). `*end` is true once the server ended the call successfully after those messages.
/// On an error (the server's, `DEADLINE_EXCEEDED`, `CANCELLED`…) it returns the code with `*err`
/// set, and `*batch` still holds the messages that came before it, to be read first.
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_recv_batch(
    stream: *const HmsClientStream,
    max: usize,
    batch: *mut HmsBytes,
    end: *mut bool,
    err: *mut *mut HmsError,
) -> i32 {
    let (Some(batch), Some(end)) = (batch.as_mut(), end.as_mut()) else {
        let null = Error::new(Code::InvalidArgument, "batch or end is NULL");
        return guard(err, || Err(null));
    };
    *batch = HmsBytes::from_vec(Vec::new());
    *end = false;
    guard(err, || {
        let s = obj(stream, "stream")?;
        let got = s.call.recv_batch_blocking(if max == 0 { 256 } else { max });
        let mut out = Vec::new();
        // Each reply after its length; one that does not convert ends the stream (the core's
        // rule: the call is cancelled, the replies before it are kept).
        let (_, ended) = got.convert(&s.call, |message| {
            let at = out.len();
            out.extend_from_slice(&[0; 4]);
            let decoded = message_into(&mut out, s.format, message, |b, o| {
                s.call.decoder().decode_output(b, o)
            });
            let len = decoded.and_then(|()| {
                u32::try_from(out.len() - at - 4)
                    .map_err(|_| Error::new(Code::ResourceExhausted, "a reply of 4 GiB or more"))
            });
            match len {
                Ok(len) => out[at..at + 4].copy_from_slice(&len.to_le_bytes()),
                Err(_) => out.truncate(at),
            }
            len.map(drop)
        });
        *batch = HmsBytes::from_vec(out);
        match ended {
            Some(Err(e)) => Err(e),
            Some(Ok(())) => {
                *end = true;
                Ok(())
            }
            None => Ok(()),
        }
    })
}

/// The one reply of a client-streaming call, read to the end (free it with `hms_bytes_free`):
/// `INTERNAL` when the server ended the call without a reply or sent more than one.
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_recv_only(
    stream: *const HmsClientStream,
    message: *mut HmsBytes,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(stream, "stream")?;
        fill_one(
            message,
            || s.call.recv_only_bytes_blocking(),
            |b| s.to_caller(b),
        )
    })
}

impl HmsClientStream {
    /// A reply's bytes in the caller's format.
    fn to_caller(&self, bytes: &[u8]) -> Result<HmsBytes, Error> {
        message_out(self.format, bytes, |b, o| {
            self.call.decoder().decode_output(b, o)
        })
    }
}

/// Cancels the call (NULL-safe): the server's handler sees it cancelled, a receive waiting on
/// another thread returns `CANCELLED`, and so does every later send or receive.
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_cancel(stream: *const HmsClientStream) {
    if let Some(s) = stream.as_ref() {
        s.call.cancel();
    }
}

/// The response headers and trailers as JSON, `{"headers": [[key, value], …], "trailers":
/// […]}` (free with `hms_bytes_free`): the trailers are complete once a receive returned the
/// end or an error; the headers are there once they have arrived (before the first reply when
/// the handler sent them early, `hms_call_send_headers`; else with it or at the end).
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_metadata(
    stream: *const HmsClientStream,
    out: *mut HmsBytes,
) -> i32 {
    let (Some(s), Some(out)) = (stream.as_ref(), out.as_mut()) else {
        return Code::InvalidArgument.as_i32();
    };
    let headers = s.call.headers().unwrap_or_default();
    *out = HmsBytes::from_vec(metadata_json(&headers, &s.call.trailers()));
    0
}

/// Frees the stream (NULL-safe), cancelling the call if it has not ended. No other function
/// may be running on it.
#[no_mangle]
pub unsafe extern "C" fn hms_client_stream_free(stream: *mut HmsClientStream) {
    if !stream.is_null() {
        let s = Box::from_raw(stream);
        s.call.cancel();
    }
}
