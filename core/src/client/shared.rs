//! [`StreamCall`]: a client stream as a binding holds it — one object that several threads (or
//! tasks) use at once: one sends while another reads, a third cancels. Bindings adapt it
//! (Python's `Stream`, the C ABI's `HmsClientStream`, Node's async iterables) and keep no
//! stream rules of their own: which send is refused, how a cancel ends a read waiting on
//! another thread, how a read waits (parking a thread, or suspending a task) are all here.

use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::stream::{ClientStream, ResponseDecoder, StreamSender};
use super::{CallOptions, Client};
use crate::call::caller_cancelled;
use crate::error::{Code, Error, Result};
use crate::exchange::NativeResult;
use crate::mapping::Input;
use crate::metadata::Metadata;
use crate::runtime;
use crate::schema::StreamingKind;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn closed() -> Error {
    Error::new(Code::FailedPrecondition, "the request stream is closed")
}

/// What [`StreamCall::recv_batch`] read.
#[derive(Debug, Default)]
pub struct Batch {
    /// The responses, in order.
    pub messages: Vec<Bytes>,
    /// `None` while more may come; `Ok` once the server ended the call, or its error.
    pub end: Option<Result<()>>,
}

impl Batch {
    /// The messages made into a binding's objects by `convert`, in order, and the batch's end.
    /// A message that does not convert ends the stream there: the ones before it are kept,
    /// `call` is cancelled (the replies after it would arrive with a gap) and the end is the
    /// conversion's error.
    pub fn convert<T>(
        self,
        call: &StreamCall,
        mut convert: impl FnMut(&[u8]) -> Result<T>,
    ) -> (Vec<T>, Option<Result<()>>) {
        let mut out = Vec::with_capacity(self.messages.len());
        for message in &self.messages {
            match convert(message) {
                Ok(v) => out.push(v),
                Err(e) => {
                    call.cancel();
                    return (out, Some(Err(e)));
                }
            }
        }
        (out, self.end)
    }
}

/// A streaming call shared between threads: send, half-close, receive, read headers and
/// trailers, cancel — each from any thread, a send and a receive at the same time.
#[derive(Debug)]
pub struct StreamCall {
    /// The sending half, until the stream is half-closed.
    sender: Mutex<Option<StreamSender>>,
    /// The reading half; an async lock, so a read may wait holding it.
    inner: tokio::sync::Mutex<ClientStream>,
    decoder: ResponseDecoder,
    /// The call's cancel token (`CallOptions::cancel`): it ends a read waiting elsewhere.
    token: CancellationToken,
    kind: StreamingKind,
    /// The connection, kept open while the stream lives (a caller may drop its client first).
    _client: Option<Client>,
}

impl StreamCall {
    /// Opens a streaming call of `method` on `client`. The call is cancelled by
    /// [`cancel`](StreamCall::cancel), and by `opts.cancel` when the caller gave one.
    pub async fn open(client: &Client, method: &str, opts: &CallOptions) -> Result<StreamCall> {
        let token = opts
            .cancel
            .as_ref()
            .map_or_else(CancellationToken::new, CancellationToken::child_token);
        let opts = CallOptions {
            cancel: Some(token.clone()),
            ..opts.clone()
        };
        let stream = client.open_stream(method, &opts).await?;
        let mut call = StreamCall::new(stream, token);
        call._client = Some(client.clone());
        Ok(call)
    }

    /// [`open`](StreamCall::open) from synchronous code (it waits for the connection).
    pub fn open_blocking(client: &Client, method: &str, opts: &CallOptions) -> Result<StreamCall> {
        runtime::block_on(StreamCall::open(client, method, opts))?
    }

    /// Wraps an open stream whose `CallOptions::cancel` was `token`.
    pub fn new(mut stream: ClientStream, token: CancellationToken) -> StreamCall {
        StreamCall {
            kind: stream.method().kind(),
            decoder: stream.decoder().clone(),
            sender: Mutex::new(stream.take_sender()),
            inner: tokio::sync::Mutex::new(stream),
            token,
            _client: None,
        }
    }

    /// Which streaming kind the method is.
    pub fn kind(&self) -> StreamingKind {
        self.kind
    }

    /// A request walked from a binding's objects, to be sent with
    /// [`send_encoded`](StreamCall::send_encoded); `FailedPrecondition` once half-closed.
    pub fn encode_input<I: Input>(&self, request: &I) -> NativeResult<Bytes, I::Error> {
        if self.token.is_cancelled() {
            return Ok(Err(caller_cancelled()));
        }
        match lock(&self.sender).as_ref() {
            Some(sender) => sender.encode_input(request),
            None => Ok(Err(closed())),
        }
    }

    /// Sends an encoded request, parking the thread while the server's window is used up
    /// (flow control); `FailedPrecondition` once half-closed.
    pub fn send_encoded(&self, bytes: Bytes) -> Result<()> {
        // A clone, so a half-close or a cancel from another thread is not held up by a send
        // waiting for credit.
        let mut sender = self.sender()?;
        sender.send_encoded(bytes)
    }

    /// [`send_encoded`](StreamCall::send_encoded) for async code.
    pub async fn send_encoded_async(&self, bytes: Bytes) -> Result<()> {
        self.sender()?.send_encoded_async(bytes).await
    }

    fn sender(&self) -> Result<StreamSender> {
        if self.token.is_cancelled() {
            return Err(caller_cancelled());
        }
        lock(&self.sender).clone().ok_or_else(closed)
    }

    /// Half-closes: no more requests (a send waiting for credit still goes out).
    pub fn close_send(&self) {
        lock(&self.sender).take();
    }

    /// Cancels the call: the server's handler sees it cancelled, a read waiting on another
    /// thread ends with `Cancelled`, and so does every later read or send.
    pub fn cancel(&self) {
        self.token.cancel();
        // A reader waiting elsewhere holds the lock, sees the token and ends the call; otherwise
        // it ends here. (Half-closing first would let the server finish the call normally.)
        if let Ok(mut inner) = self.inner.try_lock() {
            inner.cancel();
        }
    }

    /// The next response's bytes; `None` when the server ended the call successfully.
    pub async fn recv_bytes(&self) -> Option<Result<Bytes>> {
        self.inner.lock().await.next_bytes().await
    }

    /// Up to `max` responses at once, for a binding that pays for every wake-up (Node settles
    /// a Promise per read): it waits for the first, then takes those already here without
    /// waiting, at most a stream window of bytes. (Each read gives the server credit, so a
    /// batch that took whatever kept arriving would let a fast producer fill the binding's
    /// buffer past the window.) `end` is set once the call ended (`Ok`) or failed; the
    /// messages before it are all delivered first.
    pub async fn recv_batch(&self, max: usize) -> Batch {
        let mut inner = self.inner.lock().await;
        let mut batch = Batch::default();
        let mut bytes_taken = 0;
        let mut next = inner.next_bytes().await;
        loop {
            match next {
                Some(Ok(bytes)) => {
                    bytes_taken += bytes.len();
                    batch.messages.push(bytes);
                }
                None => batch.end = Some(Ok(())),
                Some(Err(e)) => batch.end = Some(Err(e)),
            }
            let full = bytes_taken >= crate::flow::STREAM_WINDOW as usize;
            if batch.end.is_some() || full || batch.messages.len() >= max.max(1) {
                return batch;
            }
            // A zero timeout polls once: what is already here, and nothing more.
            match tokio::time::timeout(std::time::Duration::ZERO, inner.next_bytes()).await {
                Ok(more) => next = more,
                Err(_) => return batch,
            }
        }
    }

    /// [`recv_bytes`](StreamCall::recv_bytes) parking the calling thread.
    pub fn recv_bytes_blocking(&self) -> Option<Result<Bytes>> {
        runtime::block_on(self.recv_bytes()).unwrap_or_else(|e| Some(Err(e)))
    }

    /// [`recv_batch`](StreamCall::recv_batch) parking the calling thread.
    pub fn recv_batch_blocking(&self, max: usize) -> Batch {
        runtime::block_on(self.recv_batch(max)).unwrap_or_else(|e| Batch {
            messages: Vec::new(),
            end: Some(Err(e)),
        })
    }

    /// The one reply of a client-streaming call, read to the end. A server that ends the call
    /// without a reply, or sends a second one, broke the method's kind: `Internal`.
    pub async fn recv_only_bytes(&self) -> Result<Bytes> {
        let Some(first) = self.recv_bytes().await else {
            let none = "the server ended the call without its one reply";
            return Err(Error::new(Code::Internal, none));
        };
        let first = first?;
        match self.recv_bytes().await {
            None => Ok(first),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => {
                self.cancel();
                let more = "the server sent more than one reply to a call that has one";
                Err(Error::new(Code::Internal, more))
            }
        }
    }

    /// [`recv_only_bytes`](StreamCall::recv_only_bytes) parking the calling thread.
    pub fn recv_only_bytes_blocking(&self) -> Result<Bytes> {
        runtime::block_on(self.recv_only_bytes())?
    }

    /// Makes responses' bytes into values or a binding's objects.
    pub fn decoder(&self) -> &ResponseDecoder {
        &self.decoder
    }

    /// The response headers, once they have arrived (see [`ClientStream::headers`]); `None`
    /// while a read is waiting on another thread.
    pub fn headers(&self) -> Option<Metadata> {
        self.inner.try_lock().ok().and_then(|s| s.headers())
    }

    /// The response trailers, complete once a read has returned the end or an error.
    pub fn trailers(&self) -> Metadata {
        self.inner
            .try_lock()
            .map(|s| s.trailers())
            .unwrap_or_default()
    }
}
