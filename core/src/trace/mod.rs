//! Distributed tracing, the W3C way: every call has a trace id and a span id of its own, read
//! from the caller's `traceparent` (and `tracestate`, `baggage`) or started afresh, and a call
//! made from inside a handler carries the handler's trace on (its `traceparent` names a client
//! span whose parent is the handler's server span). Spans of sampled calls go to the
//! [`SpanSink`] installed with [`set_sink`]; with no sink, or a call not sampled, nothing is
//! allocated or recorded.
//!
//! A base module: the call layer (`Context`, inheritance), the server and the client use it, and
//! it uses nothing but [`metadata`](crate::metadata) and [`code`](crate::code).

mod connect;
mod export;
mod export_metrics;
mod ids;
pub mod otlp;
mod settings;
mod span;
mod w3c;
#[cfg(test)]
mod w3c_tests;

use std::sync::Arc;

pub use connect::{set_tls_dialer, BoxFuture, Dial, ExportIo, ExportStream, ExportTls, TlsDialer};
pub use export::{flush, init_from_env, sampler_from, start, ExportConfig, Protocol};
pub use export_metrics::{start as start_metrics, MetricsConfig};
pub use ids::{SpanId, TraceId};
pub use settings::TelemetryFile;
pub use span::{
    finish, language_of, set_sampler, set_sink, AttrValue, Sampler, SpanData, SpanKind, SpanSink,
};
pub use w3c::{
    baggage_valid, tracestate_valid, TraceParent, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
    MAX_TRACESTATE_MEMBERS, SAMPLED,
};

use crate::metadata::Metadata;

/// The metadata key of the W3C trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// The metadata key of the W3C vendor trace state.
pub const TRACESTATE: &str = "tracestate";
/// The metadata key of the W3C baggage.
pub const BAGGAGE: &str = "baggage";
/// The trace id key of earlier releases, still read (a 32-digit lower-case hex id) when a call
/// has no valid `traceparent`; to be dropped in the release after next.
pub const LEGACY_TRACE_ID: &str = "x-trace-id";

/// A call's place in its trace: the span the call runs as, its parent (the caller's span, if
/// any), and what rides along with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallTrace {
    /// The trace id.
    pub trace_id: TraceId,
    /// This call's span.
    pub span_id: SpanId,
    /// The caller's span, if the caller sent a valid `traceparent`.
    pub parent: Option<SpanId>,
    /// Whether this call is sampled (its span is recorded and its children are sampled).
    pub sampled: bool,
    /// The `tracestate` received with a valid `traceparent`, if valid.
    pub state: Option<Arc<str>>,
    /// The `baggage` received, if valid.
    pub baggage: Option<Arc<str>>,
}

/// The values of a lower-case `key` (without lower-casing it again: no allocation).
fn values<'a>(metadata: &'a Metadata, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    metadata
        .iter()
        .filter(move |(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Several header values of one key as one list (`a, b`), without allocating for one value.
fn joined(metadata: &Metadata, key: &str) -> Option<Arc<str>> {
    let mut values = values(metadata, key);
    let first = values.next()?;
    let rest: Vec<&str> = values.collect();
    if rest.is_empty() {
        return Some(Arc::from(first));
    }
    let mut all = first.to_string();
    for v in rest {
        all.push(',');
        all.push_str(v);
    }
    Some(Arc::from(all))
}

impl CallTrace {
    /// The trace of an incoming call, from its metadata: the caller's `traceparent` if exactly
    /// one is valid (its sampled flag decides, parent-based), else a legacy trace id (`legacy`,
    /// the unix head's field, or `x-trace-id`) that is 32 lower-case hex digits, else a new
    /// trace (sampled by the root [`Sampler`]). `tracestate` is kept only with a valid parent.
    pub fn incoming(metadata: &Metadata, legacy: &str) -> CallTrace {
        let parent = TraceParent::from_values(values(metadata, TRACEPARENT));
        let baggage = joined(metadata, BAGGAGE).filter(|b| baggage_valid(b));
        let span_id = SpanId::random();
        match parent {
            Some(p) => CallTrace {
                trace_id: p.trace_id,
                span_id,
                parent: Some(p.parent_id),
                sampled: p.sampled(),
                state: joined(metadata, TRACESTATE).filter(|s| tracestate_valid(s)),
                baggage,
            },
            None => {
                let old = Some(legacy)
                    .filter(|s| !s.is_empty())
                    .or_else(|| values(metadata, LEGACY_TRACE_ID).next());
                let trace_id = old
                    .and_then(TraceId::from_hex)
                    .unwrap_or_else(TraceId::random);
                CallTrace {
                    sampled: span::sample_root(&trace_id),
                    trace_id,
                    span_id,
                    parent: None,
                    state: None,
                    baggage,
                }
            }
        }
    }

    /// The trace of an outgoing call made under `parent` (a handler's trace, or the caller's
    /// own `traceparent`): same trace, a new span id, parent-based sampling, the same state
    /// and baggage. Without a parent, a new root trace if the root sampler samples it, else
    /// `None` (the call carries no trace context; the server starts one).
    pub fn child_of(parent: Option<&CallTrace>) -> Option<CallTrace> {
        match parent {
            Some(p) => Some(CallTrace {
                trace_id: p.trace_id,
                span_id: SpanId::random(),
                parent: Some(p.span_id),
                sampled: p.sampled,
                state: p.state.clone(),
                baggage: p.baggage.clone(),
            }),
            None if span::root_off() => None,
            None => {
                let trace_id = TraceId::random();
                span::sample_root(&trace_id).then(|| CallTrace {
                    trace_id,
                    span_id: SpanId::random(),
                    parent: None,
                    sampled: true,
                    state: None,
                    baggage: None,
                })
            }
        }
    }

    /// The parent a caller named in its own metadata (`traceparent`, `tracestate`, `baggage`,
    /// as an OpenTelemetry SDK's propagator writes them), as a trace whose span is that parent.
    pub fn from_caller_metadata(metadata: &Metadata) -> Option<CallTrace> {
        let p = TraceParent::from_values(values(metadata, TRACEPARENT))?;
        Some(CallTrace {
            trace_id: p.trace_id,
            span_id: p.parent_id,
            parent: None,
            sampled: p.sampled(),
            state: joined(metadata, TRACESTATE).filter(|s| tracestate_valid(s)),
            baggage: joined(metadata, BAGGAGE).filter(|b| baggage_valid(b)),
        })
    }

    /// The `traceparent` naming this span as the parent of the next hop.
    pub fn traceparent(&self) -> String {
        TraceParent {
            trace_id: self.trace_id,
            parent_id: self.span_id,
            flags: if self.sampled { SAMPLED } else { 0 },
        }
        .format()
    }

    /// Replaces the trace context in `metadata` with this span's: `traceparent`, `tracestate`
    /// (or none), and `baggage` when there is some.
    pub fn inject(&self, metadata: &mut Metadata) {
        metadata.remove(TRACEPARENT);
        metadata.insert(TRACEPARENT, self.traceparent());
        metadata.remove(TRACESTATE);
        if let Some(state) = &self.state {
            metadata.insert(TRACESTATE, state.as_ref());
        }
        if let Some(baggage) = &self.baggage {
            metadata.remove(BAGGAGE);
            metadata.insert(BAGGAGE, baggage.as_ref());
        }
    }
}
