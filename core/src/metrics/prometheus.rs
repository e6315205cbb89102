//! The metrics as Prometheus text (exposition format 0.0.4), as `/metrics` on the admin
//! listener serves them. Names follow gRFC A66 where it has the metric (`.` becomes `_`, units
//! become suffixes): `grpc_server_call_started_total`, `grpc_server_call_duration_seconds`,
//! `grpc_server_call_rcvd_total_compressed_message_size_bytes`,
//! `grpc_server_call_sent_total_compressed_message_size_bytes`,
//! `grpc_client_call_duration_seconds`; ours where it has none: `hms_server_calls_in_flight`,
//! `hms_server_calls_rejected_total`, `hms_client_call_started_total`,
//! `hms_client_calls_in_flight`, `hms_server_connections` (open now) and
//! `hms_server_connections_accepted_total`. Labels: `grpc_method`, `grpc_status` (the code's name, as
//! A66), `hms_transport`.

use std::fmt::Write;

use super::{all, MethodMetrics, Side, Snapshot, CODES};
use crate::code::Code;

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn code_of(i: usize) -> Code {
    Code::from_i32(i as i32)
}

/// One family: its `# HELP` and `# TYPE` lines, then what `samples` writes for every method
/// and transport of the side.
fn family(
    out: &mut String,
    methods: &[std::sync::Arc<MethodMetrics>],
    server: bool,
    (name, kind, help): (&str, &str, &str),
    samples: impl Fn(&mut String, &str, &Side),
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for m in methods {
        for (transport, side) in m.sides(server) {
            let labels = format!(
                "grpc_method=\"{}\",hms_transport=\"{}\"",
                escape(m.name()),
                escape(transport)
            );
            samples(out, &labels, side);
        }
    }
}

fn histogram(out: &mut String, name: &str, labels: &str, s: &Snapshot, scale: f64) {
    for (bound, n) in &s.cumulative {
        let le = if *bound == u64::MAX {
            "+Inf".to_string()
        } else {
            format!("{}", *bound as f64 / scale)
        };
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", s.sum as f64 / scale);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", s.count);
}

fn durations(out: &mut String, name: &str, labels: &str, side: &Side) {
    for (i, h) in side.duration.iter().enumerate().take(CODES) {
        if let Some(h) = h.get() {
            let labels = format!("{labels},grpc_status=\"{}\"", code_of(i).name());
            histogram(out, name, &labels, &h.snapshot(), 1e6);
        }
    }
}

/// A family with one sample per method and transport: its Prometheus name, its OpenTelemetry
/// name (for the OTLP export), type, help, server side or client, and the value.
pub(super) type Simple = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    fn(&Side) -> i64,
);

pub(super) const SIMPLE: [Simple; 4] = [
    (
        "grpc_server_call_started_total",
        "grpc.server.call.started",
        "counter",
        "Calls started on the server (gRFC A66 grpc.server.call.started).",
        true,
        |s| s.started() as i64,
    ),
    (
        "hms_server_calls_in_flight",
        "hms.server.calls_in_flight",
        "gauge",
        "Calls the server is handling now.",
        true,
        Side::inflight,
    ),
    (
        "hms_client_call_started_total",
        "hms.client.call.started",
        "counter",
        "Calls started by clients.",
        false,
        |s| s.started() as i64,
    ),
    (
        "hms_client_calls_in_flight",
        "hms.client.calls_in_flight",
        "gauge",
        "Calls clients are making now.",
        false,
        Side::inflight,
    ),
];

/// Every method's metrics as Prometheus text.
pub fn render() -> String {
    let methods = all();
    let mut out = String::new();
    let m = &methods[..];
    for (name, _, kind, help, server, value) in SIMPLE {
        family(&mut out, m, server, (name, kind, help), |o, l, s| {
            let _ = writeln!(o, "{name}{{{l}}} {}", value(s));
        });
    }
    for (name, server, help) in [
        (
            "grpc_server_call_duration_seconds",
            true,
            "Server call latency by status (gRFC A66 grpc.server.call.duration).",
        ),
        (
            "grpc_client_call_duration_seconds",
            false,
            "Client call latency by status, retries included (gRFC A66 grpc.client.call.duration).",
        ),
    ] {
        family(&mut out, m, server, (name, "histogram", help), |o, l, s| {
            durations(o, name, l, s)
        });
    }
    for (name, received, help) in [
        ("grpc_server_call_rcvd_total_compressed_message_size_bytes", true,
         "Request bytes of unary calls (gRFC A66 grpc.server.call.rcvd_total_compressed_message_size)."),
        ("grpc_server_call_sent_total_compressed_message_size_bytes", false,
         "Reply bytes of unary calls (gRFC A66 grpc.server.call.sent_total_compressed_message_size)."),
    ] {
        family(&mut out, m, true, (name, "histogram", help), |o, l, s| {
            let h = if received { &s.received } else { &s.sent };
            if let Some(h) = h.get() {
                histogram(o, name, l, &h.snapshot(), 1.0);
            }
        });
    }
    let help = "Calls refused before their handler (limits, shutdown, policy), by status.";
    family(
        &mut out,
        m,
        true,
        ("hms_server_calls_rejected_total", "counter", help),
        |o, l, s| {
            for i in 0..CODES {
                let n = s.rejected(code_of(i));
                if n > 0 {
                    let c = code_of(i).name();
                    let _ = writeln!(
                        o,
                        "hms_server_calls_rejected_total{{{l},grpc_status=\"{c}\"}} {n}"
                    );
                }
            }
        },
    );
    super::connections::render(&mut out);
    out
}
