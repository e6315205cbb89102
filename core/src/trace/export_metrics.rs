//! OTLP export of the call metrics ([`crate::metrics::otlp`]), started with the span export by
//! the first server or client a process makes, and configured by the standard variables:
//!
//! - `OTEL_SDK_DISABLED=true` or `OTEL_METRICS_EXPORTER=none`: no export;
//! - `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
//!   (default) or `grpc`;
//! - `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (plus
//!   `/v1/metrics` over HTTP; as is over gRPC, to `MetricsService/Export`); without either, no
//!   export;
//! - the TLS files of an `https://` endpoint, as for spans (`OTEL_EXPORTER_OTLP_METRICS_…` first);
//! - `OTEL_METRIC_EXPORT_INTERVAL` (ms, default 60000): how often;
//! - `OTEL_SERVICE_NAME`: the resource's `service.name`.
//!
//! A task on the core's runtime reads the counters every interval (cumulative since the export
//! started) and sends them; [`super::flush`] sends them once more, for a process about to exit.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use prost::Message;
use tokio::sync::{mpsc, oneshot};

use super::connect::ExportTls;
use super::export::{
    disabled, endpoint, env, http_client, post, protocol, resource, scope, Protocol,
};
use crate::metrics::otlp::{request, unix_nanos};

/// The gRPC method metrics are exported with.
const GRPC_EXPORT: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// The metric export settings read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// The full URL metrics are posted to (over gRPC: the collector's `http://host:port`).
    pub endpoint: String,
    /// HTTP or gRPC.
    pub protocol: Protocol,
    /// `service.name`.
    pub service_name: String,
    /// How often the metrics are sent.
    pub interval: Duration,
    /// The TLS files of an `https://` endpoint.
    pub tls: ExportTls,
}

impl MetricsConfig {
    /// The configuration the environment asks for; `None` when export is off.
    pub fn from_env() -> Option<MetricsConfig> {
        if disabled("OTEL_METRICS_EXPORTER") {
            return None;
        }
        let protocol = protocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")?;
        let endpoint = endpoint(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "/v1/metrics",
            protocol,
        )?;
        let interval = env("OTEL_METRIC_EXPORT_INTERVAL")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(60_000)
            .max(1);
        Some(MetricsConfig {
            endpoint,
            protocol,
            service_name: env("OTEL_SERVICE_NAME").unwrap_or_else(|| "unknown_service".into()),
            interval: Duration::from_millis(interval),
            tls: ExportTls::from_env("METRICS"),
        })
    }
}

static FLUSH: OnceLock<mpsc::UnboundedSender<oneshot::Sender<()>>> = OnceLock::new();

/// Starts exporting the metrics as `config` says (once per process: a second call does nothing).
pub fn start(config: MetricsConfig) {
    let (tx, rx) = mpsc::unbounded_channel();
    if FLUSH.set(tx).is_ok() {
        crate::runtime::handle().spawn(run(config, rx));
    }
}

/// Whether the metrics are being exported.
pub(super) fn running() -> bool {
    FLUSH.get().is_some()
}

/// Sends the metrics now and waits up to `timeout` (when the export runs).
pub(super) async fn flush_metrics(timeout: Duration) {
    let Some(flush) = FLUSH.get() else {
        return;
    };
    let (done, wait) = oneshot::channel();
    if flush.send(done).is_ok() {
        let _ = tokio::time::timeout(timeout, wait).await;
    }
}

async fn run(config: MetricsConfig, mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>) {
    let Some(client) = http_client(config.protocol, &config.endpoint, &config.tls) else {
        return;
    };
    let start = unix_nanos(SystemTime::now());
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is now: nothing counted yet
    loop {
        let done = tokio::select! {
            _ = tick.tick() => None,
            f = flushes.recv() => match f {
                Some(f) => Some(f),
                None => return,
            },
        };
        let body = request(resource(&config.service_name), scope(), start).encode_to_vec();
        post(
            &client,
            config.protocol,
            &config.endpoint,
            GRPC_EXPORT,
            body,
        )
        .await;
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}
