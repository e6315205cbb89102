//! [`ClientStream`]: the client side of a streaming call of any kind — send requests,
//! half-close, read responses, read headers and trailers, cancel — with values or with a
//! binding's own objects ([`Input`], [`Output`]), so a binding adapts it and holds no stream
//! logic of its own. The call's deadline and cancel token end the reading side promptly.

use std::time::Instant;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::CallOptions;
use crate::call::{caller_cancelled, cancelled_at};
use crate::codec::{never, Codec};
use crate::error::{Code, Error, Result};
use crate::exchange::NativeResult;
use crate::limits::Limits;
use crate::mapping::{Converters, DecodeOptions, Input, Output, ValueOut};
use crate::metadata::Metadata;
use crate::schema::MethodInfo;
use crate::transport::RawStream;
use crate::value::Value;

/// A streaming call in progress: send requests, then read responses. Dropping it before the
/// end cancels the call.
pub struct ClientStream {
    raw: Option<RawStream>,
    /// The sending half, until [`take_sender`](ClientStream::take_sender).
    sender: Option<StreamSender>,
    decoder: ResponseDecoder,
    closed: CancellationToken,
    cancel: Option<CancellationToken>,
    deadline: Option<Instant>,
    /// Its metrics and client span, recorded when it ends.
    end: Option<super::tracked::StreamEnd>,
}

impl Drop for ClientStream {
    /// A stream dropped before its end ends as `CANCELLED` in its metrics and span.
    fn drop(&mut self) {
        if let Some(end) = self.end.take() {
            end.finish(Err(&caller_cancelled()));
        }
    }
}

impl std::fmt::Debug for ClientStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientStream")
            .field("method", &self.decoder.info.name)
            .finish()
    }
}

impl ClientStream {
    pub(super) fn new(
        raw: RawStream,
        codec: Codec,
        info: MethodInfo,
        limits: Limits,
        (decode, converters): (DecodeOptions, Converters),
        closed: CancellationToken,
        opts: &CallOptions,
    ) -> ClientStream {
        let mut raw = raw;
        let (dead, _) = tokio::sync::mpsc::unbounded_channel();
        let sender = StreamSender {
            tx: Some(std::mem::replace(&mut raw.tx, dead)),
            codec,
            input: info.input(),
            limits: limits.clone(),
            flow: raw.flow.clone(),
            converters: converters.clone(),
        };
        ClientStream {
            raw: Some(raw),
            sender: Some(sender),
            decoder: ResponseDecoder {
                codec,
                info,
                limits,
                decode,
                converters,
            },
            closed,
            cancel: opts.cancel.clone(),
            deadline: opts.timeout.map(|t| Instant::now() + t),
            end: None,
        }
    }

    /// Records its metrics and client span with `end` when it ends.
    pub(super) fn ended_by(mut self, end: super::tracked::StreamEnd) -> ClientStream {
        let tally = self.raw.as_ref().map(|raw| raw.flow.tally.clone());
        self.end = Some(match tally {
            Some(t) => end.counted_in(t),
            None => end,
        });
        self
    }

    /// The stream ended (its last response, or its error): its metrics and span are recorded.
    fn ended(&mut self, outcome: Result<(), &Error>) {
        if let Some(end) = self.end.take() {
            end.finish(outcome);
        }
    }

    /// The method called.
    pub fn method(&self) -> &MethodInfo {
        &self.decoder.info
    }

    /// What makes the responses' bytes into values or a binding's objects, apart from the
    /// stream (a binding decodes while another thread waits on the stream).
    pub fn decoder(&self) -> &ResponseDecoder {
        &self.decoder
    }

    /// Sends one request.
    pub fn send(&mut self, request: &Value) -> Result<()> {
        never(self.send_input(&request))
    }

    /// Sends one request walked from a binding's own objects (see [`Input`]); the outer error
    /// is the binding's conversion failing.
    pub fn send_input<I: Input>(&mut self, request: &I) -> NativeResult<(), I::Error> {
        match &mut self.sender {
            Some(sender) => sender.send_input(request),
            None => Ok(Err(Error::new(
                Code::FailedPrecondition,
                "the request stream is closed, or its sender was taken",
            ))),
        }
    }

    /// Says no more requests will come (half-close).
    pub fn close_send(&mut self) {
        self.sender = None;
    }

    /// Takes the sending half, for a binding that sends from one thread while it reads on
    /// another (a bidi stream fed by an iterator); `None` once taken or closed.
    pub fn take_sender(&mut self) -> Option<StreamSender> {
        self.sender.take()
    }

    /// Cancels the call: the server's handler sees its context cancelled, and every later
    /// read or send here is `Cancelled`. Cancelling an ended call does nothing.
    pub fn cancel(&mut self) {
        self.raw = None;
        self.sender = None;
    }

    /// The response headers (gRPC initial metadata), once they have arrived: with the first
    /// response, or before it when the handler sent them
    /// ([`Context::send_headers`](crate::Context::send_headers)), else with the outcome (once
    /// [`next`](ClientStream::next) has returned `None` or an error). The same on every
    /// streaming transport (`unix://`, `ws://` and `shm://` carry them in a `HEADERS` frame).
    pub fn headers(&self) -> Option<Metadata> {
        self.raw.as_ref().and_then(|r| r.response.headers())
    }

    /// The response trailers (gRPC trailing metadata): complete once
    /// [`next`](ClientStream::next) has returned `None` or an error.
    pub fn trailers(&self) -> Metadata {
        self.raw
            .as_ref()
            .map(|r| r.response.trailers())
            .unwrap_or_default()
    }

    /// The next response; `None` when the server ended the call successfully.
    pub async fn next(&mut self) -> Option<Result<Value>> {
        let bytes = self.next_bytes().await?;
        Some(bytes.and_then(|b| self.decoder.decode_value(&b)))
    }

    /// The next response's bytes, to be made into values with
    /// [`decode_output`](ClientStream::decode_output) (a binding does that holding its
    /// runtime's lock, and waits here without it). The deadline, the cancel token and closing
    /// the client end the wait.
    pub async fn next_bytes(&mut self) -> Option<Result<Bytes>> {
        let next = self.next_bytes_unrecorded().await;
        match &next {
            None => self.ended(Ok(())),
            Some(Err(e)) => self.ended(Err(e)),
            Some(Ok(_)) => {}
        }
        next
    }

    async fn next_bytes_unrecorded(&mut self) -> Option<Result<Bytes>> {
        let deadline = self.deadline;
        let cancel = self.cancel.clone();
        let Some(raw) = &mut self.raw else {
            return Some(Err(caller_cancelled()));
        };
        let expired = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let cancelled = async move {
            match cancel {
                Some(c) => c.cancelled_owned().await,
                None => std::future::pending().await,
            }
        };
        let stopped = tokio::select! {
            biased;
            r = raw.rx.recv() => {
                match &r {
                    Some(Ok(bytes)) => raw.flow.after_read(bytes.len()),
                    // The server's copy of the deadline (which a `grpc-timeout` rounds down to
                    // its unit) may end the call a moment before ours does: its reset is then
                    // this call's deadline, as gRPC clients report it.
                    Some(Err(e)) if e.code() == Code::Cancelled && past(deadline) => {
                        return Some(Err(Error::deadline_exceeded()));
                    }
                    _ => {}
                }
                return r;
            }
            _ = cancelled => cancelled_at(deadline),
            _ = self.closed.cancelled() => Error::client_closed(),
            _ = expired => Error::deadline_exceeded(),
        };
        self.raw = None;
        Some(Err(stopped))
    }

    /// A response's bytes made into a binding's objects by `out` (see [`Output`]).
    pub fn decode_output<O: Output>(
        &self,
        bytes: &[u8],
        out: &mut O,
    ) -> NativeResult<O::Node, O::Error> {
        self.decoder.decode_output(bytes, out)
    }
}

/// Whether `deadline` has passed, or is so near (the rounding of a `grpc-timeout`) that the
/// server's copy of it may have.
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() + std::time::Duration::from_millis(5) >= d)
}

/// A streaming call's response decoder: the method, codec, limits and decoding options.
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    codec: Codec,
    info: MethodInfo,
    limits: Limits,
    decode: DecodeOptions,
    converters: Converters,
}

impl ResponseDecoder {
    /// A response's bytes made into a binding's objects by `out` (see [`Output`]).
    pub fn decode_output<O: Output>(
        &self,
        bytes: &[u8],
        out: &mut O,
    ) -> NativeResult<O::Node, O::Error> {
        self.codec.decode_converted(
            Some(&self.info.output()),
            bytes,
            self.limits.max_depth,
            self.decode,
            Some(&self.converters),
            out,
        )
    }

    /// A response's bytes as a [`Value`].
    pub fn decode_value(&self, bytes: &[u8]) -> Result<Value> {
        never(self.decode_output(bytes, &mut ValueOut))
    }
}

/// The sending half of a [`ClientStream`] ([`ClientStream::take_sender`]). Dropping it, or
/// [`close`](StreamSender::close), half-closes the stream; a clone keeps it open until the
/// clone is dropped too.
#[derive(Clone)]
pub struct StreamSender {
    tx: Option<tokio::sync::mpsc::UnboundedSender<Bytes>>,
    codec: Codec,
    input: prost_reflect::MessageDescriptor,
    limits: Limits,
    /// The server's window: a send waits while it is used up (the server reads slowly).
    flow: crate::flow::Flow,
    converters: Converters,
}

impl std::fmt::Debug for StreamSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSender")
            .field("input", &self.input.full_name())
            .finish()
    }
}

impl StreamSender {
    /// Sends one request; it waits while the server has not read a window's worth of what was
    /// sent (flow control). Once the call has ended (the server finished or failed it, or it
    /// was cancelled), requests are dropped: reading the responses tells how it ended.
    pub fn send(&mut self, request: &Value) -> Result<()> {
        never(self.send_input(&request))
    }

    /// Sends one request walked from a binding's own objects (see [`Input`]).
    pub fn send_input<I: Input>(&mut self, request: &I) -> NativeResult<(), I::Error> {
        let bytes = self.encode_input(request)?;
        Ok(bytes.and_then(|bytes| self.send_encoded(bytes)))
    }

    /// A request walked from a binding's own objects and checked against the limits, to be
    /// sent with [`send_encoded`](StreamSender::send_encoded): a binding encodes holding its
    /// runtime's lock and sends (which may wait for the server to read) without it.
    pub fn encode_input<I: Input>(&self, request: &I) -> NativeResult<Bytes, I::Error> {
        let bytes = self.codec.encode_converted(
            Some(&self.input),
            request,
            self.limits.max_depth,
            Some(&self.converters),
        )?;
        Ok(bytes.and_then(|bytes| {
            self.limits.check_message(bytes.len(), "request")?;
            Ok(Bytes::from(bytes))
        }))
    }

    /// Sends a request [`encode_input`](StreamSender::encode_input) made, waiting while the
    /// server has not read a window's worth of what was sent (released when the call ends).
    pub fn send_encoded(&mut self, bytes: Bytes) -> Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| Error::new(Code::FailedPrecondition, "the request stream is closed"))?;
        self.flow.before_send(bytes.len(), None);
        // A call that has ended already (the server finished or failed it) drops the request,
        // as gRPC does: how the call ended is the reading side's to report.
        let _ = tx.send(bytes);
        Ok(())
    }

    /// [`send_encoded`](StreamSender::send_encoded) for async code: waiting for the server's
    /// window suspends the task instead of parking a thread.
    pub async fn send_encoded_async(&self, bytes: Bytes) -> Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| Error::new(Code::FailedPrecondition, "the request stream is closed"))?;
        self.flow.before_send_async(bytes.len(), None).await;
        let _ = tx.send(bytes);
        Ok(())
    }

    /// Half-closes the stream: no more requests.
    pub fn close(&mut self) {
        self.tx = None;
    }
}
