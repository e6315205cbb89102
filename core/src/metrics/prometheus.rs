//! The metrics as Prometheus text (exposition format 0.0.4), as `/metrics` on the admin
//! listener serves them. Names follow gRFC A66 where it has the metric (`.` becomes `_`, units
//! become suffixes): `grpc_server_call_started_total`, `grpc_server_call_duration_seconds`,
//! `grpc_server_call_rcvd_total_compressed_message_size_bytes`,
//! `grpc_server_call_sent_total_compressed_message_size_bytes`,
//! `grpc_client_call_duration_seconds`, `grpc_client_attempt_started_total`,
//! `grpc_client_attempt_duration_seconds`,
//! `grpc_client_attempt_sent_total_compressed_message_size_bytes`,
//! `grpc_client_attempt_rcvd_total_compressed_message_size_bytes`; ours where it has none: `hms_server_calls_in_flight`,
//! `hms_server_calls_rejected_total`, `hms_client_call_started_total`,
//! `hms_client_calls_in_flight`, `hms_server_connections` (open now) and
//! `hms_server_connections_accepted_total`. Labels: `grpc_method`, `grpc_status` (the code's name, as
//! A66), `hms_transport`.

use std::fmt::Write;

use super::{all, MethodMetrics, Role, Side, Snapshot, CODES};
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
    role: Role,
    (name, kind, help): (&str, &str, &str),
    samples: impl Fn(&mut String, &str, &Side),
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for m in methods {
        for (transport, side) in m.sides(role) {
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
/// name (for the OTLP export), type, help, whose, and the value.
pub(super) type Simple = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Role,
    fn(&Side) -> i64,
);

pub(super) const SIMPLE: [Simple; 5] = [
    (
        "grpc_server_call_started_total",
        "grpc.server.call.started",
        "counter",
        "Calls started on the server (gRFC A66 grpc.server.call.started).",
        Role::Server,
        |s| s.started() as i64,
    ),
    (
        "hms_server_calls_in_flight",
        "hms.server.calls_in_flight",
        "gauge",
        "Calls the server is handling now.",
        Role::Server,
        Side::inflight,
    ),
    (
        "hms_client_call_started_total",
        "hms.client.call.started",
        "counter",
        "Calls started by clients.",
        Role::Client,
        |s| s.started() as i64,
    ),
    (
        "hms_client_calls_in_flight",
        "hms.client.calls_in_flight",
        "gauge",
        "Calls clients are making now.",
        Role::Client,
        Side::inflight,
    ),
    (
        "grpc_client_attempt_started_total",
        "grpc.client.attempt.started",
        "counter",
        "Attempts of client calls started: retries, hedges and transparent retries each count (gRFC A66 grpc.client.attempt.started).",
        Role::Attempt,
        |s| s.started() as i64,
    ),
];

/// The latency histograms: Prometheus name, OpenTelemetry name, whose, help.
pub(super) const DURATIONS: [(&str, &str, Role, &str); 3] = [
    (
        "grpc_server_call_duration_seconds",
        "grpc.server.call.duration",
        Role::Server,
        "Server call latency by status (gRFC A66 grpc.server.call.duration).",
    ),
    (
        "grpc_client_call_duration_seconds",
        "grpc.client.call.duration",
        Role::Client,
        "Client call latency by status, retries included (gRFC A66 grpc.client.call.duration).",
    ),
    (
        "grpc_client_attempt_duration_seconds",
        "grpc.client.attempt.duration",
        Role::Attempt,
        "Client attempt latency by status; an attempt given up (a hedge another won) is CANCELLED (gRFC A66 grpc.client.attempt.duration).",
    ),
];

/// The size histograms: Prometheus name, OpenTelemetry name, whose, received (else sent), help.
pub(super) const SIZES: [(&str, &str, Role, bool, &str); 4] = [
    (
        "grpc_server_call_rcvd_total_compressed_message_size_bytes",
        "grpc.server.call.rcvd_total_compressed_message_size",
        Role::Server,
        true,
        "Request bytes per call, every message of a stream added (gRFC A66 grpc.server.call.rcvd_total_compressed_message_size).",
    ),
    (
        "grpc_server_call_sent_total_compressed_message_size_bytes",
        "grpc.server.call.sent_total_compressed_message_size",
        Role::Server,
        false,
        "Reply bytes per call, every message of a stream added (gRFC A66 grpc.server.call.sent_total_compressed_message_size).",
    ),
    (
        "grpc_client_attempt_sent_total_compressed_message_size_bytes",
        "grpc.client.attempt.sent_total_compressed_message_size",
        Role::Attempt,
        false,
        "Request bytes per attempt (gRFC A66 grpc.client.attempt.sent_total_compressed_message_size).",
    ),
    (
        "grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
        "grpc.client.attempt.rcvd_total_compressed_message_size",
        Role::Attempt,
        true,
        "Reply bytes per attempt, 0 for one that got none (gRFC A66 grpc.client.attempt.rcvd_total_compressed_message_size).",
    ),
];

/// Every method's metrics as Prometheus text.
pub fn render() -> String {
    let methods = all();
    let mut out = String::new();
    let m = &methods[..];
    for (name, _, kind, help, role, value) in SIMPLE {
        family(&mut out, m, role, (name, kind, help), |o, l, s| {
            let _ = writeln!(o, "{name}{{{l}}} {}", value(s));
        });
    }
    for (name, _, role, help) in DURATIONS {
        family(&mut out, m, role, (name, "histogram", help), |o, l, s| {
            durations(o, name, l, s)
        });
    }
    for (name, _, role, received, help) in SIZES {
        family(&mut out, m, role, (name, "histogram", help), |o, l, s| {
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
        Role::Server,
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
