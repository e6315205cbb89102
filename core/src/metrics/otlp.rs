//! The metrics as an OTLP `ExportMetricsServiceRequest` (the stock
//! `opentelemetry/proto/metrics/v1/metrics.proto` messages, written as prost types with the same
//! field numbers), for the periodic export in [`crate::trace::export`]. The same counters as the
//! Prometheus text, named as gRFC A66 names them where it has them (`grpc.server.call.started`,
//! `grpc.server.call.duration`, `grpc.client.call.duration`, the two message-size histograms)
//! and `hms.*` otherwise; attributes `grpc.method`, `grpc.status`, `hms.transport`. Every value
//! is cumulative since the process started.

use prost::Message;

use super::prometheus::{DURATIONS, SIMPLE, SIZES};
use super::{all, connections, Role, Side, Snapshot, CODES};
use crate::code::Code;
use crate::trace::otlp::{text, InstrumentationScope, KeyValue, Resource};

/// `ExportMetricsServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceRequest {
    /// The metrics, by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `ResourceMetrics`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceMetrics {
    /// The process.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// The metrics, by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
}

/// `ScopeMetrics`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeMetrics {
    /// `hms-ffi`.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
}

/// `Metric`: a name and one kind of data.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// Dotted, as OpenTelemetry names metrics.
    #[prost(string, tag = "1")]
    pub name: String,
    /// What it counts.
    #[prost(string, tag = "2")]
    pub description: String,
    /// UCUM: `s`, `By`, `{call}`.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// A gauge (tag 5), a sum (7) or a histogram (9).
    #[prost(oneof = "Data", tags = "5, 7, 9")]
    pub data: Option<Data>,
}

/// `Metric.data`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Data {
    /// `Gauge`.
    #[prost(message, tag = "5")]
    Gauge(Points),
    /// `Sum`.
    #[prost(message, tag = "7")]
    Sum(Sum),
    /// `Histogram`.
    #[prost(message, tag = "9")]
    Histogram(Histogram),
}

/// `Gauge`: its points.
#[derive(Clone, PartialEq, Message)]
pub struct Points {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// `Sum`.
#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// 2: cumulative.
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
    /// A counter.
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// `Histogram`.
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// The histograms.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    /// 2: cumulative.
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

/// `NumberDataPoint` with an integer value.
#[derive(Clone, PartialEq, Message)]
pub struct NumberDataPoint {
    /// Which method, transport, status.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// When counting began.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// Now.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// The value.
    #[prost(sfixed64, tag = "6")]
    pub as_int: i64,
}

/// `HistogramDataPoint`.
#[derive(Clone, PartialEq, Message)]
pub struct HistogramDataPoint {
    /// Which method, transport, status.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// When counting began.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// Now.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Their sum.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// Per bucket, not cumulative: one more than the bounds.
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    /// The finite upper bounds.
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
}

const CUMULATIVE: i32 = 2;

/// `t` in nanoseconds since the Unix epoch.
pub fn unix_nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The two clock readings every point carries.
#[derive(Clone, Copy)]
struct Times {
    start: u64,
    now: u64,
}

fn point(attributes: Vec<KeyValue>, t: Times, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: t.start,
        time_unix_nano: t.now,
        as_int: value,
    }
}

fn histogram_point(
    attributes: Vec<KeyValue>,
    t: Times,
    s: &Snapshot,
    scale: f64,
) -> HistogramDataPoint {
    let mut bucket_counts = Vec::with_capacity(s.cumulative.len());
    let mut explicit_bounds = Vec::with_capacity(s.cumulative.len());
    let mut before = 0;
    for (bound, n) in &s.cumulative {
        bucket_counts.push(n - before);
        before = *n;
        if *bound != u64::MAX {
            explicit_bounds.push(*bound as f64 / scale);
        }
    }
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: t.start,
        time_unix_nano: t.now,
        count: s.count,
        sum: Some(s.sum as f64 / scale),
        bucket_counts,
        explicit_bounds,
    }
}

fn metric(name: &str, description: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: description.into(),
        unit: unit.into(),
        data: Some(data),
    }
}

fn sum(points: Vec<NumberDataPoint>) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: CUMULATIVE,
        is_monotonic: true,
    })
}

fn histogram(points: Vec<HistogramDataPoint>) -> Data {
    Data::Histogram(Histogram {
        data_points: points,
        aggregation_temporality: CUMULATIVE,
    })
}

/// Every method's metrics and the connection counts, read now; `start` is when the process
/// began counting (Unix nanoseconds).
pub fn metrics(start: u64) -> Vec<Metric> {
    let t = Times {
        start,
        now: unix_nanos(std::time::SystemTime::now()),
    };
    let methods = all();
    // Points for every method and transport of one side.
    let each = |role: Role, f: &mut dyn FnMut(Vec<KeyValue>, &Side)| {
        for m in &methods {
            for (transport, side) in m.sides(role) {
                f(
                    vec![
                        text("grpc.method", m.name()),
                        text("hms.transport", transport),
                    ],
                    side,
                );
            }
        }
    };
    let mut out = Vec::new();
    for (_, name, kind, help, role, value) in SIMPLE {
        let mut points = Vec::new();
        each(role, &mut |attrs, side| {
            points.push(point(attrs, t, value(side)))
        });
        let data = if kind == "counter" {
            sum(points)
        } else {
            Data::Gauge(Points {
                data_points: points,
            })
        };
        out.push(metric(name, help, "{call}", data));
    }
    for (_, name, role, help) in DURATIONS {
        let mut points = Vec::new();
        each(role, &mut |attrs, side| {
            for (i, h) in side.duration.iter().enumerate().take(CODES) {
                if let Some(h) = h.get() {
                    let mut attrs = attrs.clone();
                    attrs.push(text("grpc.status", Code::from_i32(i as i32).name()));
                    points.push(histogram_point(attrs, t, &h.snapshot(), 1e6));
                }
            }
        });
        out.push(metric(name, help, "s", histogram(points)));
    }
    for (_, name, role, received, help) in SIZES {
        let mut points = Vec::new();
        each(role, &mut |attrs, side| {
            let h = if received { &side.received } else { &side.sent };
            if let Some(h) = h.get() {
                points.push(histogram_point(attrs, t, &h.snapshot(), 1.0));
            }
        });
        out.push(metric(name, help, "By", histogram(points)));
    }
    let mut rejected = Vec::new();
    each(Role::Server, &mut |attrs, side| {
        for i in 0..CODES {
            let code = Code::from_i32(i as i32);
            let n = side.rejected(code);
            if n > 0 {
                let mut attrs = attrs.clone();
                attrs.push(text("grpc.status", code.name()));
                rejected.push(point(attrs, t, n as i64));
            }
        }
    });
    out.push(metric(
        "hms.server.calls_rejected",
        "Calls refused before their handler, by status.",
        "{call}",
        sum(rejected),
    ));
    let conns = connections::all();
    let by_transport = |c: &connections::Connections| vec![text("hms.transport", c.transport)];
    let open = conns
        .iter()
        .map(|c| point(by_transport(c), t, c.open))
        .collect();
    let accepted = conns
        .iter()
        .map(|c| point(by_transport(c), t, c.accepted as i64))
        .collect();
    out.push(metric(
        "hms.server.connections",
        "Server connections open now.",
        "{connection}",
        Data::Gauge(Points { data_points: open }),
    ));
    out.push(metric(
        "hms.server.connections_accepted",
        "Server connections accepted.",
        "{connection}",
        sum(accepted),
    ));
    out
}

/// The request the exporter sends: the metrics under the process's resource.
pub fn request(
    resource: Resource,
    scope: InstrumentationScope,
    start: u64,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope),
                metrics: metrics(start),
            }],
        }],
    }
}
