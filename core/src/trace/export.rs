//! OTLP export of spans, over HTTP or gRPC, configured by the standard OpenTelemetry variables
//! and started by the first server or client a process makes ([`init_from_env`]):
//!
//! - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: no export;
//! - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
//!   (the default) or `grpc`; `http/json` is not supported (a warning, and no export);
//! - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (plus
//!   `/v1/traces` over HTTP; as is over gRPC): where spans go, `http://` or `https://`;
//!   without either, no export;
//! - `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE` or `OTEL_EXPORTER_OTLP_CERTIFICATE` (the CA of an
//!   `https://` collector; the public web roots without it), `…_CLIENT_CERTIFICATE` and
//!   `…_CLIENT_KEY` (mutual TLS): [`super::connect`];
//! - `OTEL_SERVICE_NAME`: the resource's `service.name` (default `unknown_service`);
//! - `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`: the root sampler (`always_on`,
//!   `always_off`, `traceidratio`, and their `parentbased_` forms; default
//!   `parentbased_always_on`); a call with a parent always follows the parent's flag;
//! - `OTEL_BSP_SCHEDULE_DELAY` (ms, default 5000), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512),
//!   `OTEL_BSP_MAX_QUEUE_SIZE` (2048): the batching.
//!
//! A finished span is queued without blocking (dropped when the queue is full); a task on the
//! core runtime sends batches as `ExportTraceServiceRequest` protobuf: the body of a POST
//! (`application/x-protobuf`), or the one message of a gRPC call to
//! `opentelemetry.proto.collector.trace.v1.TraceService/Export` over HTTP/2, each over TLS for an
//! `https://` endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use tokio::sync::{mpsc, oneshot};

use super::connect::{Connector, ExportTls};
use super::otlp;
use super::span::{set_sampler, set_sink, Sampler, SpanData, SpanSink};

/// How spans travel to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), the default.
    HttpProtobuf,
    /// OTLP/gRPC (`grpc`).
    Grpc,
}

/// The gRPC method spans are exported with.
const GRPC_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The export settings read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportConfig {
    /// The full URL spans are posted to (over gRPC: the collector's `http://host:port`).
    pub endpoint: String,
    /// HTTP or gRPC.
    pub protocol: Protocol,
    /// `service.name`.
    pub service_name: String,
    /// The root sampler.
    pub sampler: Sampler,
    /// How long a batch waits for more spans.
    pub delay: Duration,
    /// The largest batch.
    pub max_batch: usize,
    /// The largest queue.
    pub max_queue: usize,
    /// The TLS files of an `https://` endpoint.
    pub tls: ExportTls,
}

/// A setting: from a configuration file's `[telemetry]` table when it set it, else the
/// environment's variable (empty counts as unset).
pub(super) fn env(key: &str) -> Option<String> {
    super::settings::from_file(key).or_else(|| {
        std::env::var(key)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The sampler named by `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (an unknown name is
/// the default, `parentbased_always_on`).
pub fn sampler_from(name: Option<&str>, arg: Option<&str>) -> Sampler {
    let ratio = || arg.and_then(|a| a.parse::<f64>().ok()).unwrap_or(1.0);
    match name.map(|n| n.strip_prefix("parentbased_").unwrap_or(n)) {
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::Ratio(ratio()),
        _ => Sampler::AlwaysOn,
    }
}

/// The protocol `signal_var` (or `OTEL_EXPORTER_OTLP_PROTOCOL`) names; `None` (with a warning)
/// for one that is not supported.
pub(super) fn protocol(signal_var: &str) -> Option<Protocol> {
    match env(signal_var)
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .as_deref()
    {
        None | Some("http/protobuf") => Some(Protocol::HttpProtobuf),
        Some("grpc") => Some(Protocol::Grpc),
        Some(other) => {
            tracing::warn!(
                protocol = other,
                "OTLP protocol not supported (http/protobuf or grpc): no export"
            );
            None
        }
    }
}

/// The endpoint `signal_var` names, else `OTEL_EXPORTER_OTLP_ENDPOINT` with `http_path` added
/// over HTTP (as is over gRPC).
pub(super) fn endpoint(signal_var: &str, http_path: &str, protocol: Protocol) -> Option<String> {
    env(signal_var).or_else(|| {
        env("OTEL_EXPORTER_OTLP_ENDPOINT").map(|e| match protocol {
            Protocol::HttpProtobuf => format!("{}{http_path}", e.trim_end_matches('/')),
            Protocol::Grpc => e,
        })
    })
}

/// Whether `OTEL_SDK_DISABLED=true` or `exporter_var` is `none`.
pub(super) fn disabled(exporter_var: &str) -> bool {
    let off = |k: &str, v: &str| env(k).is_some_and(|x| x.eq_ignore_ascii_case(v));
    off("OTEL_SDK_DISABLED", "true") || off(exporter_var, "none")
}

impl ExportConfig {
    /// The configuration the environment asks for; `None` when export is off.
    pub fn from_env() -> Option<ExportConfig> {
        if disabled("OTEL_TRACES_EXPORTER") {
            return None;
        }
        let protocol = protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")?;
        let endpoint = endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces", protocol)?;
        let number = |k: &str, default: u64| env(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        Some(ExportConfig {
            endpoint,
            protocol,
            service_name: env("OTEL_SERVICE_NAME").unwrap_or_else(|| "unknown_service".into()),
            sampler: sampler_from(
                env("OTEL_TRACES_SAMPLER").as_deref(),
                env("OTEL_TRACES_SAMPLER_ARG").as_deref(),
            ),
            delay: Duration::from_millis(number("OTEL_BSP_SCHEDULE_DELAY", 5000)),
            max_batch: number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512).max(1) as usize,
            max_queue: number("OTEL_BSP_MAX_QUEUE_SIZE", 2048).max(1) as usize,
            tls: ExportTls::from_env("TRACES"),
        })
    }
}

/// The sink that queues spans for the export task.
struct Batcher {
    spans: mpsc::Sender<SpanData>,
    dropped: AtomicU64,
}

impl SpanSink for Batcher {
    fn record(&self, span: SpanData) {
        if self.spans.try_send(span).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

static FLUSH: OnceLock<mpsc::UnboundedSender<oneshot::Sender<()>>> = OnceLock::new();

/// Starts the export the environment asks for, once per process (later calls do nothing).
pub fn init_from_env() {
    DONE.get_or_init(|| {
        if let Some(config) = ExportConfig::from_env() {
            start(config);
        }
        if let Some(config) = super::export_metrics::MetricsConfig::from_env() {
            super::export_metrics::start(config);
        }
    });
}

static DONE: OnceLock<()> = OnceLock::new();

/// Whether the export was set up already (by the environment or a file), in this process.
pub(super) fn started() -> bool {
    DONE.get().is_some()
}

/// Starts exporting to `config.endpoint`: installs the sampler and the batching sink.
pub fn start(config: ExportConfig) {
    let (tx, rx) = mpsc::channel(config.max_queue);
    let (flush_tx, flush_rx) = mpsc::unbounded_channel();
    let _ = FLUSH.set(flush_tx);
    set_sampler(config.sampler);
    crate::runtime::handle().spawn(run(config, rx, flush_rx));
    set_sink(Some(Arc::new(Batcher {
        spans: tx,
        dropped: AtomicU64::new(0),
    })));
}

/// Sends every queued span and the metrics now, and waits up to `timeout` for them to be sent
/// (for a process about to exit). Does nothing when export is off.
pub fn flush(timeout: Duration) {
    if FLUSH.get().is_none() && !super::export_metrics::running() {
        return;
    }
    let spans = FLUSH.get().and_then(|flush| {
        let (done, wait) = oneshot::channel();
        flush.send(done).ok().map(|()| wait)
    });
    let _ = crate::runtime::block_on(async {
        let spans = async {
            if let Some(wait) = spans {
                let _ = tokio::time::timeout(timeout, wait).await;
            }
        };
        tokio::join!(spans, super::export_metrics::flush_metrics(timeout));
    });
}

async fn run(
    config: ExportConfig,
    mut spans: mpsc::Receiver<SpanData>,
    mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let Some(client) = http_client(config.protocol, &config.endpoint, &config.tls) else {
        return;
    };
    let mut batch: Vec<SpanData> = Vec::new();
    loop {
        let mut done = None;
        tokio::select! {
            s = spans.recv() => match s {
                Some(s) => batch.push(s),
                None => return,
            },
            f = flushes.recv() => done = f,
        }
        let until = tokio::time::Instant::now() + config.delay;
        while done.is_none() && batch.len() < config.max_batch {
            tokio::select! {
                s = spans.recv() => match s {
                    Some(s) => batch.push(s),
                    None => break,
                },
                f = flushes.recv() => done = f,
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        while let Ok(s) = spans.try_recv() {
            batch.push(s);
        }
        for chunk in batch.chunks(config.max_batch) {
            send(&client, &config, chunk).await;
        }
        batch.clear();
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}

/// A client for `protocol` (HTTP/1.1, or HTTP/2 for gRPC) to `endpoint`, over TLS for
/// `https://`; `None`, with a warning, when it cannot be made (no export then).
pub(super) fn http_client(
    protocol: Protocol,
    endpoint: &str,
    tls: &ExportTls,
) -> Option<HttpClient> {
    let h2 = protocol == Protocol::Grpc;
    match Connector::for_endpoint(endpoint, tls, h2) {
        Ok(connector) => Some(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(h2)
                .build::<_, Full<Bytes>>(connector),
        ),
        Err(error) => {
            tracing::warn!(endpoint, %error, "OTLP endpoint refused: no export");
            None
        }
    }
}

pub(super) type HttpClient = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

async fn send(client: &HttpClient, config: &ExportConfig, spans: &[SpanData]) {
    if spans.is_empty() {
        return;
    }
    let request = otlp::ExportTraceServiceRequest {
        resource_spans: vec![otlp::ResourceSpans {
            resource: Some(resource(&config.service_name)),
            scope_spans: vec![otlp::ScopeSpans {
                scope: Some(scope()),
                spans: spans.iter().map(otlp::span).collect(),
            }],
        }],
    };
    post(
        client,
        config.protocol,
        &config.endpoint,
        GRPC_EXPORT,
        request.encode_to_vec(),
    )
    .await;
}

/// The process as OTLP describes it: `service.name` and the SDK's name and language.
pub(super) fn resource(service_name: &str) -> otlp::Resource {
    otlp::Resource {
        attributes: vec![
            otlp::text("service.name", service_name),
            otlp::text("telemetry.sdk.name", "hms-ffi"),
            otlp::text("telemetry.sdk.language", "rust"),
        ],
    }
}

/// The instrumentation scope: `hms-ffi` and the crate's version.
pub(super) fn scope() -> otlp::InstrumentationScope {
    otlp::InstrumentationScope {
        name: "hms-ffi".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// Sends one OTLP export (`body`, an encoded `Export…ServiceRequest`): the body of a POST to
/// `endpoint` over HTTP, or the message of a call to `grpc_path` at `endpoint` over gRPC. A
/// failure is logged; nothing is retried.
pub(super) async fn post(
    client: &HttpClient,
    protocol: Protocol,
    endpoint: &str,
    grpc_path: &str,
    body: Vec<u8>,
) {
    let req = match protocol {
        Protocol::HttpProtobuf => http::Request::post(endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body))),
        Protocol::Grpc => {
            let mut framed = Vec::with_capacity(body.len() + 5);
            framed.push(0);
            framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
            framed.extend_from_slice(&body);
            let url = format!("{}{grpc_path}", endpoint.trim_end_matches('/'));
            http::Request::post(url)
                .header(http::header::CONTENT_TYPE, "application/grpc")
                .header(http::header::TE, "trailers")
                .body(Full::new(Bytes::from(framed)))
        }
    };
    let Ok(req) = req else {
        tracing::warn!(endpoint, "bad OTLP endpoint");
        return;
    };
    let exchange = async {
        let res = client.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        if protocol == Protocol::Grpc {
            // The status is in the trailers, or in the headers of a trailers-only answer.
            let headers = res.headers().clone();
            let collected = res.into_body().collect().await.map_err(|e| e.to_string())?;
            let trailers = collected.trailers().cloned().unwrap_or_default();
            let code = |h: &http::HeaderMap| {
                h.get("grpc-status")
                    .and_then(|v| v.to_str().ok().map(str::to_owned))
            };
            match code(&trailers).or_else(|| code(&headers)).as_deref() {
                Some("0") => {}
                Some(c) => return Err(format!("grpc-status {c}")),
                None => return Err("no grpc-status".into()),
            }
        }
        Ok(())
    };
    match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, endpoint, "OTLP export failed"),
        Err(_) => tracing::warn!(endpoint, "OTLP export timed out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samplers_by_their_standard_names() {
        assert_eq!(sampler_from(None, None), Sampler::AlwaysOn);
        assert_eq!(sampler_from(Some("always_off"), None), Sampler::AlwaysOff);
        assert_eq!(
            sampler_from(Some("parentbased_always_off"), None),
            Sampler::AlwaysOff
        );
        assert_eq!(
            sampler_from(Some("parentbased_always_on"), None),
            Sampler::AlwaysOn
        );
        assert_eq!(
            sampler_from(Some("traceidratio"), Some("0.25")),
            Sampler::Ratio(0.25)
        );
        assert_eq!(
            sampler_from(Some("parentbased_traceidratio"), Some("x")),
            Sampler::Ratio(1.0)
        );
    }
}
