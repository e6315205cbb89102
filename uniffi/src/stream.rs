//! Streams: [`ClientStream`] (the core's `StreamCall`) with blocking and `async` reads and
//! sends, and [`ServerStream`] (the core's `ServerStream`) handed to a foreign
//! [`StreamHandler`]. Messages cross as typed JSON text, as in unary calls. The idioms (Kotlin's
//! `Iterator` and `Flow`, Swift's `AsyncSequence`) are the packages'; the stream rules are the
//! core's.

use std::sync::Arc;

use crate::context::{entries, CallContext, MetadataEntry};
use crate::error::HmsResult;
use crate::ocore::{self, mapping::notation, StreamCall};
use crate::runtime::on_runtime;

/// A request from typed JSON text, encoded for `call`'s method.
fn encode(call: &StreamCall, request: &str) -> HmsResult<bytes::Bytes> {
    let value = notation::from_text(request)?;
    match call.encode_input(&&value) {
        Ok(bytes) => Ok(bytes?),
        Err(never) => match never {},
    }
}

/// A read's outcome as typed JSON text (`None` at the end).
fn text(next: Option<ocore::Result<ocore::Value>>) -> HmsResult<Option<String>> {
    Ok(next.transpose()?.map(|v| notation::to_text(&v)))
}

/// A streaming call on the client: send requests, half-close, read replies; from any thread,
/// a send and a read at once.
#[derive(Debug, uniffi::Object)]
pub struct ClientStream(pub(crate) Arc<StreamCall>);

#[uniffi::export]
impl ClientStream {
    /// `server_streaming`, `client_streaming` or `bidi_streaming`.
    pub fn kind(&self) -> String {
        self.0.kind().name().to_string()
    }

    /// Sends one request (typed JSON); blocks while the server's window is full.
    pub fn send(&self, request: String) -> HmsResult<()> {
        Ok(self.0.send_encoded(encode(&self.0, &request)?)?)
    }

    /// [`send`](ClientStream::send) without blocking.
    pub async fn send_async(&self, request: String) -> HmsResult<()> {
        let bytes = encode(&self.0, &request)?;
        let call = self.0.clone();
        on_runtime(async move { call.send_encoded_async(bytes).await }).await
    }

    /// Half-closes: no more requests.
    pub fn close_send(&self) {
        self.0.close_send();
    }

    /// Cancels the call: the server's handler sees it; a read waiting elsewhere fails with
    /// `Cancelled`, and so do later reads and sends.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// The next reply as typed JSON, `None` once the server ended the call (blocking).
    pub fn recv(&self) -> HmsResult<Option<String>> {
        let next = self.0.recv_bytes_blocking();
        text(next.map(|r| r.and_then(|b| self.0.decoder().decode_value(&b))))
    }

    /// [`recv`](ClientStream::recv) without blocking; cancelling the coroutine or task stops
    /// the wait (not the call).
    pub async fn recv_async(&self) -> HmsResult<Option<String>> {
        let call = self.0.clone();
        let next = on_runtime(async move {
            let next = call.recv_bytes().await;
            Ok(next.map(|r| r.and_then(|b| call.decoder().decode_value(&b))))
        })
        .await?;
        text(next)
    }

    /// The one reply of a client-streaming call, read to the end (blocking); `Internal` when
    /// the server sent none or more than one.
    pub fn recv_only(&self) -> HmsResult<String> {
        let one = self.0.recv_only_bytes_blocking()?;
        Ok(notation::to_text(&self.0.decoder().decode_value(&one)?))
    }

    /// [`recv_only`](ClientStream::recv_only) without blocking.
    pub async fn recv_only_async(&self) -> HmsResult<String> {
        let call = self.0.clone();
        let one = on_runtime(async move {
            let one = call.recv_only_bytes().await?;
            call.decoder().decode_value(&one)
        })
        .await?;
        Ok(notation::to_text(&one))
    }

    /// The response headers, once they have arrived.
    pub fn headers(&self) -> Option<Vec<MetadataEntry>> {
        self.0.headers().map(|m| entries(&m))
    }

    /// The response trailers, complete once a read has returned the end or an error.
    pub fn trailers(&self) -> Vec<MetadataEntry> {
        entries(&self.0.trailers())
    }
}

/// The server side of a streaming call, handed to a [`StreamHandler`]: blocking reads and sends
/// for a handler that holds its thread, `async` ones for a suspending handler (Kotlin's `Flow`
/// handlers, a Swift `async` one).
#[derive(Debug, uniffi::Object)]
pub struct ServerStream(pub(crate) Arc<ocore::ServerStream>);

#[uniffi::export]
impl ServerStream {
    /// The next request as typed JSON, `None` once the client half-closed; `Cancelled` once
    /// the caller has gone (blocking).
    pub fn recv(&self) -> HmsResult<Option<String>> {
        let next = self.0.recv_bytes_blocking();
        text(next.map(|r| r.and_then(|b| self.0.exchange().request_value(&b))))
    }

    /// The one request of a server-streaming call; `InvalidArgument` when none came.
    pub fn recv_first(&self) -> HmsResult<String> {
        let first = self.0.first_bytes_blocking()?;
        Ok(notation::to_text(&self.0.exchange().request_value(&first)?))
    }

    /// Sends one reply (typed JSON); blocks while the caller's window is full. A reply that
    /// does not fit the response type is `Internal`; `Cancelled` once the caller has gone.
    pub fn send(&self, reply: String) -> HmsResult<()> {
        let value = notation::from_text(&reply).map_err(ocore::Error::invalid_reply)?;
        Ok(self.0.send_encoded(self.0.encode_value(&value)?)?)
    }

    /// [`recv`](ServerStream::recv) without blocking; cancelling the coroutine or task stops
    /// the wait (not the call).
    pub async fn recv_async(&self) -> HmsResult<Option<String>> {
        let stream = self.0.clone();
        let next = on_runtime(async move {
            let next = stream.recv_bytes().await;
            Ok(next.map(|r| r.and_then(|b| stream.exchange().request_value(&b))))
        })
        .await?;
        text(next)
    }

    /// [`recv_first`](ServerStream::recv_first) without blocking.
    pub async fn recv_first_async(&self) -> HmsResult<String> {
        let stream = self.0.clone();
        let first = on_runtime(async move {
            let first = stream.first_bytes().await?;
            stream.exchange().request_value(&first)
        })
        .await?;
        Ok(notation::to_text(&first))
    }

    /// [`send`](ServerStream::send) without blocking: the coroutine or task suspends while the
    /// caller's window is full.
    pub async fn send_async(&self, reply: String) -> HmsResult<()> {
        let value = notation::from_text(&reply).map_err(ocore::Error::invalid_reply)?;
        let bytes = self.0.encode_value(&value)?;
        let stream = self.0.clone();
        on_runtime(async move { stream.send_encoded_async(bytes).await }).await
    }
}

/// A streaming method of any kind: it reads and sends on `stream` and returns when the call is
/// done (an error fails it after the replies sent before). It runs on a thread of the blocking
/// pool and may block for the whole stream (a suspending handler runs its coroutine there, or
/// its task, and uses the `async` reads and sends).
#[uniffi::export(with_foreign)]
pub trait StreamHandler: Send + Sync {
    /// Handles one call.
    fn handle(&self, stream: Arc<ServerStream>, ctx: Arc<CallContext>) -> HmsResult<()>;
}
