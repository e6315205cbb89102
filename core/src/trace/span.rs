//! Spans: the record of one sampled call, a server span per call served and a client span per
//! call made, with the attributes of the OpenTelemetry RPC semantic conventions
//! (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`) and ours
//! (`hms.transport`, `hms.language`). The root [`Sampler`] decides for calls that start a
//! trace; a call with a parent follows the parent's `sampled` flag (parent-based sampling).
//! A finished sampled span goes to the installed [`SpanSink`], which must not block (an
//! exporter queues it and sends batches from a thread of its own).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::{CallTrace, SpanId, TraceId};
use crate::code::Code;

/// How a call that starts a trace is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// Never (the default: no spans unless a parent sampled, or export is configured).
    AlwaysOff,
    /// Always.
    AlwaysOn,
    /// A fraction of traces in `[0, 1]`, decided by the trace id (OpenTelemetry's
    /// `traceidratio`: the same trace id gives the same answer in every process).
    Ratio(f64),
}

/// The root sampler as a threshold on the trace id's low 8 bytes: 0 never, `u64::MAX` always.
static THRESHOLD: AtomicU64 = AtomicU64::new(0);

/// Sets the root sampler (for calls that start a trace).
pub fn set_sampler(sampler: Sampler) {
    let t = match sampler {
        Sampler::AlwaysOff => 0,
        Sampler::AlwaysOn => u64::MAX,
        Sampler::Ratio(r) if r >= 1.0 => u64::MAX,
        Sampler::Ratio(r) if r > 0.0 => (r * u64::MAX as f64) as u64,
        Sampler::Ratio(_) => 0,
    };
    THRESHOLD.store(t, Ordering::Relaxed);
}

/// Whether the root sampler never samples (then no trace id need be made for a new trace).
pub(super) fn root_off() -> bool {
    THRESHOLD.load(Ordering::Relaxed) == 0
}

/// Whether a new trace with this id is sampled.
pub(super) fn sample_root(trace_id: &TraceId) -> bool {
    match THRESHOLD.load(Ordering::Relaxed) {
        0 => false,
        u64::MAX => true,
        t => {
            let mut low = [0u8; 8];
            low.copy_from_slice(&trace_id.0[8..]);
            u64::from_be_bytes(low) < t
        }
    }
}

/// Which side of a call a span records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// The server's handling of a call.
    Server,
    /// A call made by a client.
    Client,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
}

/// A finished span.
#[derive(Debug, Clone)]
pub struct SpanData {
    /// `package.Service/Method`.
    pub name: String,
    /// Server or client.
    pub kind: SpanKind,
    /// The trace id.
    pub trace_id: TraceId,
    /// The span's id.
    pub span_id: SpanId,
    /// Its parent's id, if any.
    pub parent: Option<SpanId>,
    /// The `tracestate` it carried.
    pub state: Option<Arc<str>>,
    /// When it started.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// The call's outcome.
    pub code: Code,
    /// The error message, for a failed call.
    pub message: String,
    /// The attributes, in the order of the conventions.
    pub attributes: Vec<(&'static str, AttrValue)>,
}

/// Where finished spans go. `record` runs on the call's thread: it must be quick and must not
/// block (queue the span; export from elsewhere).
pub trait SpanSink: Send + Sync {
    /// Takes one finished span.
    fn record(&self, span: SpanData);
}

static SINK: RwLock<Option<Arc<dyn SpanSink>>> = RwLock::new(None);

/// Installs (or with `None` removes) the sink of finished spans, process-wide.
pub fn set_sink(sink: Option<Arc<dyn SpanSink>>) {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
}

fn sink() -> Option<Arc<dyn SpanSink>> {
    SINK.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The `hms.language` of a process's own calls made from Rust, or as a binding set it.
pub fn language_of(language: &str) -> &str {
    if language.is_empty() {
        "rust"
    } else {
        language
    }
}

/// `rpc.system` for a transport: `grpc` on gRPC, `connect_rpc` on Connect, `hms_ffi` on the
/// transports of our own.
fn rpc_system(transport: &str) -> &'static str {
    match transport {
        "grpc" | "grpcs" | "grpc+unix" => "grpc",
        "http" | "https" => "connect_rpc",
        _ => "hms_ffi",
    }
}

/// Ends a span that lasted `elapsed`: a sampled one is given its attributes and handed to the
/// sink, if there is one (nothing else is done: no clock read, no allocation).
pub fn finish(
    trace: &CallTrace,
    kind: SpanKind,
    elapsed: Duration,
    call: (&str, &str, &str),
    outcome: Result<(), (Code, &str)>,
) {
    if !trace.sampled {
        return;
    }
    let Some(sink) = sink() else {
        return;
    };
    let (method, transport, language) = call;
    let (service, short) = method.rsplit_once('/').unwrap_or(("", method));
    let (code, message) = match outcome {
        Ok(()) => (Code::Ok, String::new()),
        Err((code, message)) => (code, message.to_string()),
    };
    let end = SystemTime::now();
    sink.record(SpanData {
        name: method.to_string(),
        kind,
        trace_id: trace.trace_id,
        span_id: trace.span_id,
        parent: trace.parent,
        state: trace.state.clone(),
        start: end.checked_sub(elapsed).unwrap_or(end),
        end,
        code,
        message,
        attributes: vec![
            ("rpc.system", AttrValue::Str(rpc_system(transport).into())),
            ("rpc.service", AttrValue::Str(service.into())),
            ("rpc.method", AttrValue::Str(short.into())),
            ("rpc.grpc.status_code", AttrValue::Int(code as i64)),
            ("hms.transport", AttrValue::Str(transport.into())),
            ("hms.language", AttrValue::Str(language_of(language).into())),
        ],
    });
}
