//! The telemetry settings of a configuration file (the `[telemetry]` table of the security file,
//! docs/observability.md): each field stands for one standard OpenTelemetry variable and, when
//! set, wins over it. The export is process-wide and starts once, with the first server or
//! client a process makes: a file's table applies when its server is the first (a later one is
//! ignored, with a warning).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The `[telemetry]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryFile {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector, `http://host:4318` (or `:4317` over gRPC).
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` or `grpc`.
    pub protocol: Option<String>,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: Option<String>,
    /// `OTEL_TRACES_SAMPLER`: `parentbased_always_on`, `parentbased_traceidratio`, …
    pub sampler: Option<String>,
    /// `OTEL_TRACES_SAMPLER_ARG`: the ratio of `traceidratio`.
    pub sampler_arg: Option<f64>,
    /// `OTEL_METRIC_EXPORT_INTERVAL`, in milliseconds.
    pub metric_export_interval_ms: Option<u64>,
    /// `OTEL_TRACES_EXPORTER`: `false` is `none`, `true` is `otlp`.
    pub traces: Option<bool>,
    /// `OTEL_METRICS_EXPORTER`: `false` is `none`, `true` is `otlp`.
    pub metrics: Option<bool>,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: the CA file of an `https://` collector.
    pub certificate: Option<String>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: the exporter's certificate (mutual TLS).
    pub client_certificate: Option<String>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: the exporter's private key (mutual TLS).
    pub client_key: Option<String>,
}

impl TelemetryFile {
    /// The variables the table sets, by name.
    fn variables(&self) -> HashMap<&'static str, String> {
        let mut vars = HashMap::new();
        let mut set = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                vars.insert(k, v);
            }
        };
        set("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.clone());
        set("OTEL_EXPORTER_OTLP_PROTOCOL", self.protocol.clone());
        set("OTEL_SERVICE_NAME", self.service_name.clone());
        set("OTEL_EXPORTER_OTLP_CERTIFICATE", self.certificate.clone());
        set(
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            self.client_certificate.clone(),
        );
        set("OTEL_EXPORTER_OTLP_CLIENT_KEY", self.client_key.clone());
        set("OTEL_TRACES_SAMPLER", self.sampler.clone());
        set(
            "OTEL_TRACES_SAMPLER_ARG",
            self.sampler_arg.map(|a| a.to_string()),
        );
        set(
            "OTEL_METRIC_EXPORT_INTERVAL",
            self.metric_export_interval_ms.map(|ms| ms.to_string()),
        );
        let exporter = |on: Option<bool>| on.map(|on| if on { "otlp" } else { "none" }.to_string());
        set("OTEL_TRACES_EXPORTER", exporter(self.traces));
        set("OTEL_METRICS_EXPORTER", exporter(self.metrics));
        vars
    }

    /// Starts the export with this table over the environment, when nothing has started it
    /// yet in this process; otherwise a warning.
    pub fn start(&self) {
        let vars = self.variables();
        if vars.is_empty() {
            return;
        }
        if super::export::started() || FILE.set(vars).is_err() {
            tracing::warn!(
                "telemetry already started in this process: the [telemetry] table is ignored"
            );
            return;
        }
        super::export::init_from_env();
    }
}

static FILE: OnceLock<HashMap<&'static str, String>> = OnceLock::new();

/// The value a configuration file gave `key`, if one did.
pub(super) fn from_file(key: &str) -> Option<String> {
    FILE.get().and_then(|vars| vars.get(key).cloned())
}
