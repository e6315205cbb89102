//! OTLP export of spans, over HTTP or gRPC, configured by the standard OpenTelemetry variables
//! and started by the first server or client a process makes ([`init_from_env`]):
//!
//! - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: no export;
//! - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
//!   (the default) or `grpc`; `http/json` is not supported (a warning, and no export);
//! - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (plus
//!   `/v1/traces` over HTTP; as is over gRPC): where spans go, `http://` only; without either,
//!   no export;
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
//! `opentelemetry.proto.collector.trace.v1.TraceService/Export` over HTTP/2 without TLS.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use tokio::sync::{mpsc, oneshot};

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
}

fn env(key: &str) -> Option<String> {
    std::env::var(key)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
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

impl ExportConfig {
    /// The configuration the environment asks for; `None` when export is off.
    pub fn from_env() -> Option<ExportConfig> {
        let off = |k: &str, v: &str| env(k).is_some_and(|x| x.eq_ignore_ascii_case(v));
        if off("OTEL_SDK_DISABLED", "true") || off("OTEL_TRACES_EXPORTER", "none") {
            return None;
        }
        let protocol = match env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .as_deref()
        {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("grpc") => Protocol::Grpc,
            Some(other) => {
                tracing::warn!(
                    protocol = other,
                    "OTLP protocol not supported (http/protobuf or grpc): no export"
                );
                return None;
            }
        };
        let endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            env("OTEL_EXPORTER_OTLP_ENDPOINT").map(|e| match protocol {
                Protocol::HttpProtobuf => format!("{}/v1/traces", e.trim_end_matches('/')),
                Protocol::Grpc => e,
            })
        })?;
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
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if let Some(config) = ExportConfig::from_env() {
            start(config);
        }
    });
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

/// Sends every queued span now and waits up to `timeout` for it to be sent (for a process
/// about to exit). Does nothing when export is off.
pub fn flush(timeout: Duration) {
    let Some(flush) = FLUSH.get() else {
        return;
    };
    let (done, wait) = oneshot::channel();
    if flush.send(done).is_ok() {
        let _ = crate::runtime::block_on(async { tokio::time::timeout(timeout, wait).await });
    }
}

async fn run(
    config: ExportConfig,
    mut spans: mpsc::Receiver<SpanData>,
    mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(config.protocol == Protocol::Grpc)
        .build_http::<Full<Bytes>>();
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

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

async fn send(client: &HttpClient, config: &ExportConfig, spans: &[SpanData]) {
    if spans.is_empty() {
        return;
    }
    let request = otlp::ExportTraceServiceRequest {
        resource_spans: vec![otlp::ResourceSpans {
            resource: Some(otlp::Resource {
                attributes: vec![
                    otlp::text("service.name", &config.service_name),
                    otlp::text("telemetry.sdk.name", "hms-ffi"),
                    otlp::text("telemetry.sdk.language", "rust"),
                ],
            }),
            scope_spans: vec![otlp::ScopeSpans {
                scope: Some(otlp::InstrumentationScope {
                    name: "hms-ffi".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                }),
                spans: spans.iter().map(otlp::span).collect(),
            }],
        }],
    };
    let body = request.encode_to_vec();
    let req = match config.protocol {
        Protocol::HttpProtobuf => http::Request::post(&config.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body))),
        Protocol::Grpc => {
            let mut framed = Vec::with_capacity(body.len() + 5);
            framed.push(0);
            framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
            framed.extend_from_slice(&body);
            let url = format!("{}{GRPC_EXPORT}", config.endpoint.trim_end_matches('/'));
            http::Request::post(url)
                .header(http::header::CONTENT_TYPE, "application/grpc")
                .header(http::header::TE, "trailers")
                .body(Full::new(Bytes::from(framed)))
        }
    };
    let Ok(req) = req else {
        tracing::warn!(endpoint = %config.endpoint, "bad OTLP endpoint");
        return;
    };
    let exchange = async {
        let res = client.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        if config.protocol == Protocol::Grpc {
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
        Ok(Err(e)) => tracing::warn!(error = %e, "OTLP export failed"),
        Err(_) => tracing::warn!("OTLP export timed out"),
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
