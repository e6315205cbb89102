//! What a client observes of each call: the head it sends (with the deadline and cancellation
//! it inherits from the handler it is made in, and its trace context: a client span that is a
//! child of the caller's `traceparent` or of that handler's span), the method's metrics
//! (started, in flight, finished by code with the latency) and the client span, recorded at
//! the end when sampled.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::send::inherit;
use super::{CallOptions, Client};
use crate::call::{CallHead, SCHEMA_REVISION_KEY};
use crate::codec::Codec;
use crate::error::{Code, Error};
use crate::trace::CallTrace;

/// A call's head, the caller's cancellation and its client span's trace, if it has one.
pub(super) type Head = (CallHead, Option<CancellationToken>, Option<CallTrace>);

/// A client span begun: its trace (the clock is the call's, [`Tracked::start`]).
pub(super) type Span = Option<CallTrace>;

/// A call being made: its method's metrics, its name when they are missing and a span needs
/// it, when it began, and its client span.
pub(super) struct Tracked<'a> {
    metrics: Option<&'a crate::metrics::MethodMetrics>,
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
            name,
            start: Instant::now(),
            span,
        }
    }

    /// A call ends: its metrics and its client span (recorded only when sampled).
    pub(super) fn end(&self, t: Tracked<'_>, outcome: Result<(), &Error>) {
        let scheme = self.inner.scheme.as_str();
        if let Some(m) = t.metrics {
            let code = outcome.map_or_else(|e| e.code(), |()| Code::Ok);
            m.client(scheme).finish(code, t.start.elapsed());
        }
        if let Some(trace) = &t.span {
            let method = t.metrics.map(|m| m.name()).or(t.name.as_deref());
            crate::trace::finish(
                trace,
                crate::trace::SpanKind::Client,
                t.start.elapsed(),
                (method.unwrap_or_default(), scheme, ""),
                outcome.map_err(|e| (e.code(), e.message())),
            );
        }
    }
}
