//! What a client observes of each call: the head it sends (with the deadline and cancellation
//! it inherits from the handler it is made in, and its trace context: a client span that is a
//! child of the caller's `traceparent` or of that handler's span), the method's metrics
//! (started, in flight, finished by code with the latency) and the client span, recorded at
//! the end when sampled; and each [`Attempt`] of the call, as gRFC A66 counts them.

use std::time::Instant;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::send::inherit;
use super::{CallOptions, Client};
use crate::call::{CallHead, SCHEMA_REVISION_KEY};
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::metadata::Reply;
use crate::metrics::Side;
use crate::trace::CallTrace;

/// A call's head, the caller's cancellation and its client span's trace, if it has one.
pub(super) type Head = (CallHead, Option<CancellationToken>, Option<CallTrace>);

/// A client span begun: its trace (the clock is the call's, [`Tracked::start`]).
pub(super) type Span = Option<CallTrace>;

/// A call being made: its method's metrics, its name when they are missing and a span needs
/// it, when it began, and its client span.
pub(super) struct Tracked<'a> {
    metrics: Option<&'a crate::metrics::MethodMetrics>,
    scheme: &'a str,
    name: Option<String>,
    start: Instant,
    pub(super) span: Span,
}

impl Client {
    /// The head of a call of `method`, its cancellation and its client span's trace.
    pub(super) fn head(&self, method: &str, opts: &CallOptions, codec: Codec) -> Head {
        let from = opts.parent.clone().or_else(crate::context::inherited);
        let caller = CallTrace::from_caller_metadata(&opts.metadata);
        let parent = caller
            .as_ref()
            .or_else(|| from.as_ref().and_then(|f| f.trace.as_ref()));
        let trace = CallTrace::child_of(parent);
        let (timeout, cancel) = match (opts.detach, from) {
            (false, Some(from)) => inherit(opts, from),
            _ => (opts.timeout, opts.cancel.clone()),
        };
        let mut metadata = opts.metadata.clone();
        if let Some(trace) = &trace {
            trace.inject(&mut metadata);
        }
        if let Some(revision) = &self.inner.versions.revision {
            if metadata.get(SCHEMA_REVISION_KEY).is_none() {
                metadata.insert(SCHEMA_REVISION_KEY, revision.as_str());
            }
        }
        let head = CallHead {
            method: method.to_string(),
            timeout,
            metadata,
            codec,
            trace_id: String::new(),
            cancel: crate::call::CallerCancel(cancel.clone()),
        };
        (head, cancel, trace)
    }

    /// A call begins: counted, and its client span started.
    pub(super) fn begin(&self, method: &str, trace: Option<CallTrace>) -> Tracked<'_> {
        let metrics = self.inner.metrics.get(method).map(|m| &**m);
        if let Some(m) = metrics {
            m.client(&self.inner.scheme).start();
        }
        let span = trace;
        let name = (span.is_some() && metrics.is_none()).then(|| method.to_string());
        Tracked {
            metrics,
            scheme: &self.inner.scheme,
            name,
            start: Instant::now(),
            span,
        }
    }

    /// A call ends: its metrics and its client span (recorded only when sampled).
    pub(super) fn end(&self, t: Tracked<'_>, outcome: Result<(), &Error>) {
        let method = t.metrics.map(|m| m.name()).or(t.name.as_deref());
        let scheme = self.inner.scheme.as_str();
        record(t.metrics, (method, scheme), t.start, &t.span, outcome);
    }

    /// A stream opened: its metrics and client span end with the stream, not now.
    pub(super) fn stream_end(&self, t: Tracked<'_>) -> StreamEnd {
        let method = t.metrics.map(|m| m.name().to_string()).or(t.name);
        let metrics = method
            .as_deref()
            .and_then(|m| self.inner.metrics.get(m).cloned());
        StreamEnd {
            metrics,
            method: method.unwrap_or_default(),
            scheme: self.inner.scheme.clone(),
            start: t.start,
            span: t.span,
            tally: None,
        }
    }
}

/// A call's metrics and client span (when sampled) recorded at its end.
fn record(
    metrics: Option<&crate::metrics::MethodMetrics>,
    (method, scheme): (Option<&str>, &str),
    start: Instant,
    span: &Span,
    outcome: Result<(), &Error>,
) {
    if let Some(m) = metrics {
        let code = outcome.map_or_else(|e| e.code(), |()| Code::Ok);
        m.client(scheme).finish(code, start.elapsed());
    }
    if let Some(trace) = span {
        crate::trace::finish(
            trace,
            crate::trace::SpanKind::Client,
            start.elapsed(),
            (method.unwrap_or_default(), scheme, ""),
            outcome.map_err(|e| (e.code(), e.message())),
        );
    }
}

/// What a streaming call records when it ends (its last response, its error, or the caller
/// dropping it): the method's metrics (the call's whole duration, as gRFC A66 counts it), its
/// one attempt (begun when it was opened) with the bytes its messages took each way, and its
/// client span.
pub(crate) struct StreamEnd {
    metrics: Option<std::sync::Arc<crate::metrics::MethodMetrics>>,
    method: String,
    scheme: String,
    start: Instant,
    span: Span,
    tally: Option<std::sync::Arc<crate::flow::Tally>>,
}

impl StreamEnd {
    /// The bytes the stream's messages take are counted in `tally`.
    pub(crate) fn counted_in(mut self, tally: std::sync::Arc<crate::flow::Tally>) -> StreamEnd {
        self.tally = Some(tally);
        self
    }

    /// The stream ended with `outcome`.
    pub(crate) fn finish(self, outcome: std::result::Result<(), &Error>) {
        if let Some(m) = &self.metrics {
            let attempt = m.attempt(&self.scheme);
            let code = outcome.map_or_else(|e| e.code(), |()| Code::Ok);
            attempt.attempt_finished(code, self.start.elapsed());
            if let Some(t) = &self.tally {
                attempt.sizes(t.sent() as usize, t.read() as usize);
            }
        }
        let names = (Some(self.method.as_str()), self.scheme.as_str());
        record(
            self.metrics.as_deref(),
            names,
            self.start,
            &self.span,
            outcome,
        );
    }
}

/// One attempt of a unary call (gRFC A66's `grpc.client.attempt.*`): counted when it begins;
/// its latency, status and sizes recorded when it ends. An attempt dropped unfinished (a hedge
/// another attempt won, a caller that went away) ends `CANCELLED`.
pub(super) struct Attempt<'a> {
    side: Option<&'a Side>,
    start: Instant,
    sent: usize,
}

/// Where a call's attempts are counted: its method's metrics (found once, when the call
/// began) on the client's transport.
#[derive(Clone, Copy)]
pub(super) struct Meter<'a> {
    metrics: Option<&'a crate::metrics::MethodMetrics>,
    scheme: &'a str,
    /// When the call began.
    start: Instant,
}

impl<'a> Meter<'a> {
    /// An attempt begins now, sending `sent` bytes.
    pub(super) fn attempt(self, sent: usize) -> Attempt<'a> {
        self.attempt_from(sent, Instant::now)
    }

    /// The call's only attempt (no policy to retry it) begins, sending `sent` bytes: it began
    /// with the call (A66 counts the pick of a connection in the attempt).
    pub(super) fn only_attempt(self, sent: usize) -> Attempt<'a> {
        self.attempt_from(sent, || self.start)
    }

    fn attempt_from(self, sent: usize, start: impl FnOnce() -> Instant) -> Attempt<'a> {
        let side = self.metrics.map(|m| m.attempt(self.scheme));
        if let Some(s) = side {
            s.attempt_started();
        }
        Attempt {
            side,
            start: start(),
            sent,
        }
    }
}

impl<'a> Tracked<'a> {
    /// Where the call's attempts are counted.
    pub(super) fn meter(&self) -> Meter<'a> {
        Meter {
            metrics: self.metrics,
            scheme: self.scheme,
            start: self.start,
        }
    }
}

impl Attempt<'_> {
    /// The attempt ended with `result`.
    pub(super) fn end(mut self, result: &Result<Reply<Bytes>>) {
        let (code, received) = match result {
            Ok(reply) => (Code::Ok, reply.message.len()),
            Err(e) => (e.code(), 0),
        };
        self.record(code, received);
    }

    /// The attempt goes on past its call's scope (a stream's, whose [`StreamEnd`] records its
    /// end) or failed with `e`.
    pub(super) fn opened<T>(mut self, result: &Result<T>) {
        match result {
            Ok(_) => self.side = None,
            Err(e) => self.record(e.code(), 0),
        }
    }

    fn record(&mut self, code: Code, received: usize) {
        if let Some(s) = self.side.take() {
            s.attempt_finished(code, self.start.elapsed());
            s.sizes(self.sent, received);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.record(Code::Cancelled, 0);
    }
}
