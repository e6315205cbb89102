//! The OTLP trace messages, as prost types written from the stock definitions
//! (`opentelemetry/proto/collector/trace/v1/trace_service.proto`, `…/trace/v1/trace.proto`,
//! `…/common/v1/common.proto`, `…/resource/v1/resource.proto`: the fields spans need, with the
//! same numbers and types, so any OTLP receiver decodes them), and the conversion of a
//! [`SpanData`] into them.

use prost::Message;

use super::span::{AttrValue, SpanData, SpanKind};
use crate::code::Code;

/// `ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTraceServiceRequest {
    /// The spans, by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ResourceSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceSpans {
    /// The process (`service.name`…).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// The spans, by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
}

/// `Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Its attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// `ScopeSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeSpans {
    /// The instrumentation scope.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The spans.
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
}

/// `InstrumentationScope`.
#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    /// `hms-ffi`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The crate's version.
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `Span`.
#[derive(Clone, PartialEq, Message)]
pub struct Span {
    /// 16 bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    /// 8 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    /// The W3C `tracestate`.
    #[prost(string, tag = "3")]
    pub trace_state: String,
    /// 8 bytes, or empty for a root span.
    #[prost(bytes = "vec", tag = "4")]
    pub parent_span_id: Vec<u8>,
    /// `package.Service/Method`.
    #[prost(string, tag = "5")]
    pub name: String,
    /// `SPAN_KIND_SERVER` (2) or `SPAN_KIND_CLIENT` (3).
    #[prost(int32, tag = "6")]
    pub kind: i32,
    /// Start, nanoseconds since the epoch.
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    /// End, nanoseconds since the epoch.
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    /// The attributes.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// The outcome.
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
    /// The W3C trace flags (bits 0-7).
    #[prost(fixed32, tag = "16")]
    pub flags: u32,
}

/// `Status`.
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    /// The error message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// `STATUS_CODE_UNSET` (0), `_OK` (1), `_ERROR` (2).
    #[prost(int32, tag = "3")]
    pub code: i32,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue` (the string and integer cases).
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// The value.
    #[prost(oneof = "Value", tags = "1, 3")]
    pub value: Option<Value>,
}

/// `AnyValue.value`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Value {
    /// `string_value`.
    #[prost(string, tag = "1")]
    StringValue(String),
    /// `int_value`.
    #[prost(int64, tag = "3")]
    IntValue(i64),
}

/// A string attribute.
pub fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_string())),
        }),
    }
}

fn nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A span as OTLP has it. The status is left unset on success, as the RPC conventions say,
/// and is `ERROR` for a failed call (on a server, only for the codes the gRPC conventions
/// count as server errors; a client counts every failure).
pub fn span(s: &SpanData) -> Span {
    let server_error = matches!(
        s.code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    );
    let error = match s.kind {
        SpanKind::Server => server_error,
        SpanKind::Client => s.code != Code::Ok,
    };
    Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        trace_state: s.state.as_deref().unwrap_or_default().to_string(),
        parent_span_id: s.parent.map(|p| p.0.to_vec()).unwrap_or_default(),
        name: s.name.clone(),
        kind: match s.kind {
            SpanKind::Server => 2,
            SpanKind::Client => 3,
        },
        start_time_unix_nano: nanos(s.start),
        end_time_unix_nano: nanos(s.end),
        attributes: s
            .attributes
            .iter()
            .map(|(k, v)| KeyValue {
                key: (*k).to_string(),
                value: Some(AnyValue {
                    value: Some(match v {
                        AttrValue::Str(t) => Value::StringValue(t.clone()),
                        AttrValue::Int(n) => Value::IntValue(*n),
                    }),
                }),
            })
            .collect(),
        status: error.then(|| Status {
            message: s.message.clone(),
            code: 2,
        }),
        flags: 1,
    }
}
