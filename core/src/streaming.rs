//! [`ServerStream`]: the server side of a streaming call as a binding holds it — one object
//! its handler's threads (or tasks) use at once: one reads requests while another sends
//! replies. Bindings adapt it (Python's `ServerStream`, the C ABI's `HmsServerStream`, Node's
//! async iterables) and keep no stream rules of their own: the request of a server-streaming
//! call, a read ending on cancellation, a send waiting for the caller's window and refused
//! after it has gone are the core's ([`RequestStream`], [`ResponseSink`]).

use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::exchange::{Exchange, NativeResult};
use crate::handler::{RequestStream, ResponseSink};
use crate::mapping::{Input, Output};
use crate::runtime;
use crate::value::Value;

/// A streaming call's requests and replies, shared between the handler's threads.
#[derive(Debug)]
pub struct ServerStream {
    /// An async lock, so a read may wait holding it.
    requests: tokio::sync::Mutex<RequestStream>,
    sink: ResponseSink,
    /// The stream's decoder and encoder, apart from `requests` (a read may hold that lock
    /// while it waits).
    exchange: Arc<Exchange>,
}

impl ServerStream {
    /// The handler's two halves as one object.
    pub fn new(requests: RequestStream, sink: ResponseSink) -> ServerStream {
        ServerStream {
            exchange: requests.exchange().clone(),
            requests: tokio::sync::Mutex::new(requests),
            sink,
        }
    }

    /// The stream's decoder and encoder.
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }

    /// The next request's bytes; `None` once the client has half-closed, `Cancelled` once the
    /// call is cancelled.
    pub async fn recv_bytes(&self) -> Option<Result<Bytes>> {
        self.requests.lock().await.next_bytes().await
    }

    /// [`recv_bytes`](ServerStream::recv_bytes) parking the calling thread.
    pub fn recv_bytes_blocking(&self) -> Option<Result<Bytes>> {
        runtime::block_on(self.recv_bytes()).unwrap_or_else(|e| Some(Err(e)))
    }

    /// The one request of a server-streaming call; `InvalidArgument` when the client sent none.
    pub async fn first_bytes(&self) -> Result<Bytes> {
        self.requests.lock().await.first_bytes().await
    }

    /// [`first_bytes`](ServerStream::first_bytes) parking the calling thread.
    pub fn first_bytes_blocking(&self) -> Result<Bytes> {
        runtime::block_on(self.first_bytes())?
    }

    /// A request's bytes made into a binding's objects.
    pub fn decode<O: Output>(&self, bytes: &[u8], out: &mut O) -> NativeResult<O::Node, O::Error> {
        self.exchange.request(bytes, out)
    }

    /// A reply walked from a binding's objects, to be sent with
    /// [`send_encoded`](ServerStream::send_encoded) (`Internal` when it does not fit the
    /// response type).
    pub fn encode<I: Input>(&self, reply: &I) -> NativeResult<Bytes, I::Error> {
        self.exchange.reply(reply)
    }

    /// [`encode`](ServerStream::encode) from a [`Value`].
    pub fn encode_value(&self, reply: &Value) -> Result<Bytes> {
        self.exchange.reply_value(reply)
    }

    /// Sends an encoded reply (one [`encode`](ServerStream::encode) made, or a binding's own
    /// protobuf bytes), parking the thread while the caller's window is used up;
    /// `ResourceExhausted` when it is over the size limit, `Cancelled` once the caller has gone.
    pub fn send_encoded(&self, bytes: Bytes) -> Result<()> {
        self.exchange
            .limits
            .check_message(bytes.len(), "response")?;
        self.sink.send_bytes(bytes)
    }

    /// [`send_encoded`](ServerStream::send_encoded) for async code.
    pub async fn send_encoded_async(&self, bytes: Bytes) -> Result<()> {
        self.exchange
            .limits
            .check_message(bytes.len(), "response")?;
        self.sink.send_bytes_async(bytes).await
    }
}
