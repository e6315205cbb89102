//! NATS micro discovery (ADR-32) for a `nats://` listener: the answers to `$SRV.PING`,
//! `$SRV.INFO` and `$SRV.STATS` (alone, `.<name>` and `.<name>.<id>`), and the per-endpoint
//! counters STATS reports. Each method served is one endpoint on the queue group `q`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value as Json};

use super::nats_codec::{micro_name, QUEUE_GROUP};
use crate::value::{time::format_timestamp, Timestamp};

/// One endpoint: a method and what STATS reports of it.
pub(crate) struct Endpoint {
    /// `package.Service/Method`.
    pub(crate) method: String,
    /// `unary`, `server_streaming`, … (reported as endpoint metadata).
    pub(crate) kind: &'static str,
    pub(crate) subject: String,
    requests: AtomicU64,
    errors: AtomicU64,
    nanos: AtomicU64,
    last_error: Mutex<String>,
}

impl Endpoint {
    pub(crate) fn new(method: &str, kind: &'static str, subject: String) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            method: method.to_string(),
            kind,
            subject,
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            last_error: Mutex::new(String::new()),
        })
    }

    /// Counts one request that took `took`, and its error if it failed.
    pub(crate) fn record(&self, took: Duration, error: Option<&crate::error::Error>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        if let Some(e) = error {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = self.last_error.lock() {
                *last = format!("{}: {}", e.code().name(), e.message());
            }
        }
    }

    fn info(&self) -> Json {
        json!({
            "name": micro_name(&self.method),
            "subject": self.subject,
            "queue_group": QUEUE_GROUP,
            "metadata": {"method": self.method, "kind": self.kind},
        })
    }

    fn stats(&self) -> Json {
        let requests = self.requests.load(Ordering::Relaxed);
        let nanos = self.nanos.load(Ordering::Relaxed);
        let last = self
            .last_error
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        json!({
            "name": micro_name(&self.method),
            "subject": self.subject,
            "queue_group": QUEUE_GROUP,
            "num_requests": requests,
            "num_errors": self.errors.load(Ordering::Relaxed),
            "last_error": last,
            "processing_time": nanos,
            "average_processing_time": nanos.checked_div(requests).unwrap_or(0),
        })
    }
}

/// A listener's micro service: its name (from the prefix), instance id and endpoints.
pub(crate) struct Micro {
    pub(crate) name: String,
    pub(crate) id: String,
    description: String,
    started: String,
    pub(crate) endpoints: Vec<Arc<Endpoint>>,
}

impl Micro {
    pub(crate) fn new(name: String, id: String, endpoints: Vec<Arc<Endpoint>>) -> Micro {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let started = format_timestamp(Timestamp {
            seconds: i64::try_from(now.as_secs()).unwrap_or(0),
            nanos: 0,
        });
        let mut services: Vec<&str> = endpoints
            .iter()
            .filter_map(|e| e.method.split_once('/').map(|(s, _)| s))
            .collect();
        services.dedup();
        Micro {
            description: format!("hms-ffi server: {}", services.join(", ")),
            name,
            id,
            started,
            endpoints,
        }
    }

    /// The subjects to subscribe (no queue group: every instance answers discovery).
    pub(crate) fn subjects(&self) -> [String; 3] {
        [
            "$SRV.*".to_string(),
            format!("$SRV.*.{}", self.name),
            format!("$SRV.*.{}.{}", self.name, self.id),
        ]
    }

    /// The JSON answer to a discovery request on `subject`, or `None` for a verb micro does
    /// not define.
    pub(crate) fn answer(&self, subject: &str) -> Option<Vec<u8>> {
        let verb = subject.strip_prefix("$SRV.")?.split('.').next()?;
        let mut body = Map::new();
        let mut put = |k: &str, v: Json| body.insert(k.to_string(), v);
        let kind = match verb {
            "PING" => "ping_response",
            "INFO" => "info_response",
            "STATS" => "stats_response",
            _ => return None,
        };
        put("type", json!(format!("io.nats.micro.v1.{kind}")));
        put("name", json!(self.name));
        put("id", json!(self.id));
        put("version", json!(env!("CARGO_PKG_VERSION")));
        put(
            "metadata",
            json!({"hms-ffi.version": env!("CARGO_PKG_VERSION")}),
        );
        match verb {
            "INFO" => {
                put("description", json!(self.description));
                let infos: Vec<Json> = self.endpoints.iter().map(|e| e.info()).collect();
                put("endpoints", Json::Array(infos));
            }
            "STATS" => {
                put("started", json!(self.started));
                let stats: Vec<Json> = self.endpoints.iter().map(|e| e.stats()).collect();
                put("endpoints", Json::Array(stats));
            }
            _ => {}
        }
        serde_json::to_vec(&Json::Object(body)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_adr_32() {
        let e = Endpoint::new(
            "demo.v1.Greeter/SayHello",
            "unary",
            "p.demo.v1.Greeter.SayHello".into(),
        );
        e.record(Duration::from_nanos(300), None);
        let err = crate::error::Error::new(crate::error::Code::NotFound, "no such name");
        e.record(Duration::from_nanos(100), Some(&err));
        let m = Micro::new("p".into(), "ID1".into(), vec![e]);
        let stats: Json = serde_json::from_slice(&m.answer("$SRV.STATS.p.ID1").unwrap()).unwrap();
        assert_eq!(stats["type"], "io.nats.micro.v1.stats_response");
        let ep = &stats["endpoints"][0];
        assert_eq!(ep["num_requests"], 2);
        assert_eq!(ep["num_errors"], 1);
        assert_eq!(ep["average_processing_time"], 200);
        assert_eq!(ep["last_error"], "NOT_FOUND: no such name");
        assert_eq!(ep["name"], "demo_v1_Greeter_SayHello");
        let info: Json = serde_json::from_slice(&m.answer("$SRV.INFO").unwrap()).unwrap();
        assert_eq!(info["description"], "hms-ffi server: demo.v1.Greeter");
        assert_eq!(info["endpoints"][0]["queue_group"], "q");
        assert!(m.answer("$SRV.NOPE").is_none());
    }
}
