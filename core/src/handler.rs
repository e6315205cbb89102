//! Handlers: the implementation of one method, as a Rust closure or trait object.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::exchange::Exchange;
use crate::metadata::response::ResponseMetadata;
use crate::value::Value;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A unary method: one request, one response.
pub trait UnaryHandler: Send + Sync + 'static {
    /// Handles one call.
    fn call(&self, request: Value, ctx: Context) -> BoxFuture<'static, Result<Value>>;
}

/// A unary method over raw encoded bytes (protobuf binary), for callers with their own types.
pub trait RawHandler: Send + Sync + 'static {
    /// Handles one call.
    fn call(&self, request: Bytes, ctx: Context) -> BoxFuture<'static, Result<Bytes>>;
}

/// A unary method of a binding that walks its own objects: it makes its request from the bytes
/// and its reply into bytes through the route's [`Exchange`], which holds the rules (limits,
/// decoding options, a bad reply being `Internal`) as for every other handler.
pub trait NativeHandler: Send + Sync + 'static {
    /// Handles one call: `request` is the request's bytes in `exchange`'s codec.
    fn call(
        &self,
        request: Bytes,
        exchange: Arc<Exchange>,
        ctx: Context,
    ) -> BoxFuture<'static, Result<Bytes>>;
}

/// A streaming method of any kind: it reads requests from `input` and writes to `output`.
pub trait StreamHandler: Send + Sync + 'static {
    /// Handles one call; returning ends the response stream (with the error, if any).
    fn call(
        &self,
        input: RequestStream,
        output: ResponseSink,
        ctx: Context,
    ) -> BoxFuture<'static, Result<()>>;
}

impl<F, Fut> UnaryHandler for F
where
    F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    fn call(&self, request: Value, ctx: Context) -> BoxFuture<'static, Result<Value>> {
        Box::pin(self(request, ctx))
    }
}

/// A unary handler that blocks (runs on the blocking thread pool, never on a reactor thread).
pub(crate) struct Blocking<F>(pub(crate) Arc<F>);

impl<F> UnaryHandler for Blocking<F>
where
    F: Fn(Value, Context) -> Result<Value> + Send + Sync + 'static,
{
    fn call(&self, request: Value, ctx: Context) -> BoxFuture<'static, Result<Value>> {
        let f = self.0.clone();
        Box::pin(run_blocking(move || {
            let _inherit = ctx.enter();
            f(request, ctx)
        }))
    }
}

/// Runs a blocking handler body on the blocking thread pool and waits for it; a panic in it is
/// `Internal` (`handler panicked: …`). For bindings whose handlers block (UniFFI's raw-bytes
/// handlers), so they need not repeat the pool hand-off.
pub async fn run_blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Error::new(Code::Internal, format!("handler panicked: {e}"))))
}

/// A synchronous unary handler run on the thread that serves the call: directly on an `inproc`
/// caller's own thread or a `unix://` connection's thread (no thread hop at all); on a tokio
/// worker under `block_in_place`, which hands the worker's other duties (its queue, the I/O
/// driver) to another thread first. (Running it bare on a worker would stall the I/O driver: a
/// dead peer would go unnoticed until the handler returned.)
pub(crate) struct Inline<F>(pub(crate) Arc<F>);

impl<F> UnaryHandler for Inline<F>
where
    F: Fn(Value, Context) -> Result<Value> + Send + Sync + 'static,
{
    fn call(&self, request: Value, ctx: Context) -> BoxFuture<'static, Result<Value>> {
        let f = self.0.clone();
        Box::pin(async move { run_inline(|| f(request, ctx)) })
    }
}

/// Runs a body that may block on the thread that serves the call, as [`Inline`] handlers run:
/// directly on an `inproc` caller's own thread or a `unix://` connection's thread, under
/// `block_in_place` on a tokio worker (so the worker's other tasks and the I/O driver move to
/// another thread first). For bindings whose foreign handlers run where the call was read (the
/// C ABI's blocking handlers).
pub fn run_inline<T>(body: impl FnOnce() -> T) -> T {
    let on_worker = !crate::runtime::own_thread()
        && tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_worker {
        tokio::task::block_in_place(body)
    } else {
        body()
    }
}

pub(crate) struct RawFn<F>(pub(crate) F);

impl<F, Fut> RawHandler for RawFn<F>
where
    F: Fn(Bytes, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Bytes>> + Send + 'static,
{
    fn call(&self, request: Bytes, ctx: Context) -> BoxFuture<'static, Result<Bytes>> {
        Box::pin((self.0)(request, ctx))
    }
}

pub(crate) struct StreamFn<F>(pub(crate) F);

impl<F, Fut> StreamHandler for StreamFn<F>
where
    F: Fn(RequestStream, ResponseSink, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    fn call(
        &self,
        input: RequestStream,
        output: ResponseSink,
        ctx: Context,
    ) -> BoxFuture<'static, Result<()>> {
        Box::pin((self.0)(input, output, ctx))
    }
}

/// Rewrites a stream's messages between what the caller sends and reads and what the handler
/// reads and writes: a bridged method's JSON (`server/revisions.rs`, the one place that knows
/// how).
pub(crate) trait Transcode: Send + Sync {
    /// A request as the caller sent it, made into what the handler reads.
    fn request(&self, bytes: Bytes) -> Result<Bytes>;
    /// A response as the handler wrote it, made into what the caller reads.
    fn response(&self, bytes: Bytes) -> Result<Bytes>;
}

/// The requests of a streaming call, as the handler reads them.
pub struct RequestStream {
    pub(crate) rx: mpsc::UnboundedReceiver<Bytes>,
    pub(crate) exchange: Arc<Exchange>,
    /// Between the caller's messages and the handler's, when they differ.
    pub(crate) transcode: Option<Arc<dyn Transcode>>,
    /// The call's cancellation: a read waiting for the next request ends with it.
    pub(crate) cancel: tokio_util::sync::CancellationToken,
    /// Gives the sender credit back as requests are read.
    pub(crate) flow: crate::flow::Flow,
}

impl std::fmt::Debug for RequestStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestStream")
    }
}

impl RequestStream {
    /// The next request; `None` once the client has finished sending; `Cancelled` once the
    /// call is cancelled (caller gone, deadline passed, server stopping).
    pub async fn next(&mut self) -> Option<Result<Value>> {
        let bytes = self.next_bytes().await?;
        Some(bytes.and_then(|b| self.exchange.request_value(&b)))
    }

    /// The next request's bytes, to be made into a binding's objects through
    /// [`exchange`](RequestStream::exchange) (a binding does that holding its runtime's lock,
    /// and waits here without it); `None` once the client has finished sending, `Cancelled`
    /// once the call is cancelled.
    pub async fn next_bytes(&mut self) -> Option<Result<Bytes>> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Some(Err(Error::new(Code::Cancelled, "the call was cancelled"))),
            bytes = self.rx.recv() => {
                let bytes = bytes?;
                self.flow.after_read(bytes.len());
                Some(match &self.transcode {
                    Some(t) => t.request(bytes),
                    None => Ok(bytes),
                })
            }
        }
    }

    /// The one request of a server-streaming call (its bytes), or `InvalidArgument` when the
    /// client half-closed without one: the rule every binding's server-streaming handler
    /// follows.
    pub async fn first_bytes(&mut self) -> Result<Bytes> {
        self.next_bytes()
            .await
            .ok_or_else(|| Error::new(Code::InvalidArgument, "no request sent"))?
    }

    /// [`first_bytes`](RequestStream::first_bytes) as a value.
    pub async fn first(&mut self) -> Result<Value> {
        let bytes = self.first_bytes().await?;
        self.exchange.request_value(&bytes)
    }

    /// The stream's decoder and encoder.
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }
}

/// Where a streaming handler writes its responses.
#[derive(Clone)]
pub struct ResponseSink {
    pub(crate) tx: mpsc::UnboundedSender<Bytes>,
    pub(crate) exchange: Arc<Exchange>,
    /// Between the handler's messages and the caller's, when they differ.
    pub(crate) transcode: Option<Arc<dyn Transcode>>,
    pub(crate) response: Arc<ResponseMetadata>,
    /// The call's cancellation: every send after it is `Cancelled`.
    pub(crate) cancel: tokio_util::sync::CancellationToken,
    /// The reader's window: a send waits while it is used up (the caller reads slowly).
    pub(crate) flow: crate::flow::Flow,
}

impl std::fmt::Debug for ResponseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseSink")
    }
}

impl ResponseSink {
    /// Sends one response. A value that does not fit the response type fails with `Internal`
    /// (the handler broke the schema; the violations are in the details), a too large one with
    /// `ResourceExhausted`, and any send after the caller has gone with `Cancelled`. The first
    /// send seals the response headers (see [`Context::set_header`]).
    pub fn send(&self, value: &Value) -> Result<()> {
        self.send_bytes(self.exchange.reply_value(value)?)
    }

    /// [`send`](ResponseSink::send) walked from a binding's own objects (see
    /// [`Input`](crate::mapping::Input)); the outer error is the binding's conversion failing.
    pub fn send_input<I: crate::mapping::Input>(
        &self,
        reply: &I,
    ) -> crate::NativeResult<(), I::Error> {
        Ok(self
            .exchange
            .reply(reply)?
            .and_then(|bytes| self.send_bytes(bytes)))
    }

    /// Sends one response already encoded by the stream's [`Exchange`]
    /// ([`Exchange::reply`]): a binding encodes holding its runtime's lock and sends (which
    /// may wait for the caller to read, flow control) without it.
    pub fn send_bytes(&self, bytes: Bytes) -> Result<()> {
        self.live()?;
        let bytes = self.outgoing(bytes)?;
        self.flow.before_send(bytes.len(), Some(&self.cancel));
        self.push(bytes)
    }

    /// [`send_bytes`](ResponseSink::send_bytes) for async code: waiting for the caller's window
    /// suspends the task instead of parking a thread.
    pub async fn send_bytes_async(&self, bytes: Bytes) -> Result<()> {
        self.live()?;
        let bytes = self.outgoing(bytes)?;
        self.flow
            .before_send_async(bytes.len(), Some(&self.cancel))
            .await;
        self.push(bytes)
    }

    /// The handler's response as the caller reads it (the window counts what is sent).
    fn outgoing(&self, bytes: Bytes) -> Result<Bytes> {
        match &self.transcode {
            Some(t) => t.response(bytes),
            None => Ok(bytes),
        }
    }

    fn live(&self) -> Result<()> {
        match self.cancel.is_cancelled() {
            true => Err(Error::cancelled()),
            false => Ok(()),
        }
    }

    /// Sends a message that has its credit.
    fn push(&self, bytes: Bytes) -> Result<()> {
        self.live()?;
        self.response.seal_headers();
        self.tx.send(bytes).map_err(|_| Error::cancelled())
    }
}

/// What the server runs for a method.
#[derive(Clone)]
pub(crate) enum Route {
    Unary(Arc<dyn UnaryHandler>),
    Raw(Arc<dyn RawHandler>),
    Native(Arc<dyn NativeHandler>),
    Stream(Arc<dyn StreamHandler>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::runtime;

    #[test]
    fn a_panic_in_a_blocking_handler_is_internal() {
        let blocking = runtime()
            .block_on(run_blocking(|| -> Result<()> {
                panic!("boom in a handler")
            }))
            .expect_err("a panic is an error");
        assert_eq!(blocking.code(), Code::Internal);
        assert!(blocking.message().starts_with("handler panicked"));
        let fine = runtime().block_on(run_blocking(|| Ok(7)));
        assert_eq!(fine.map_err(|e| e.to_string()), Ok(7));
    }
}
