//! [`Resilience`]: a client's reconnect, retry, keepalive and wait-for-ready options in one
//! struct, which bindings take as JSON ([`Resilience::from_json`]). Every option and default is
//! in `docs/resilience.md`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::backoff::{Backoff, RawBackoff};
use super::policy::{parse_duration, ServiceConfig, Throttle};
use crate::error::{Code, Error, Result};
use crate::transport::Keepalive;

/// How a client lives through failures. The default reconnects with gRPC's backoff, retries
/// nothing, sends no keepalive and fails a call at once while there is no connection.
#[derive(Debug, Clone, Default)]
pub struct Resilience {
    /// The backoff between attempts to reconnect.
    pub backoff: Backoff,
    /// Retry and hedging policies per method (none: no retries but transparent ones). When
    /// given, it wins over the config a server announces in discovery.
    pub service_config: Option<Arc<ServiceConfig>>,
    /// Whether the client takes the service config the server announces in discovery, when it
    /// was given none: `None` (the default) takes it when the schema is discovered and does
    /// not ask when a schema is given; `Some(true)` asks for it even when a schema is given
    /// (one discovery call at connect); `Some(false)` never takes one (gRPC's
    /// `disableServiceConfigLookup`).
    pub service_config_lookup: Option<bool>,
    /// PING/PONG on `unix://` and `ws://`, HTTP/2 PING on `grpc://`.
    pub keepalive: Option<Keepalive>,
    /// The default of [`CallOptions::wait_for_ready`](super::CallOptions::wait_for_ready).
    pub wait_for_ready: bool,
    /// Which of several endpoints a call goes to.
    pub load_balancing: LoadBalancing,
    /// When an endpoint is set aside, and for how long.
    pub ejection: Ejection,
    /// Health checks of every endpoint (`grpc.health.v1`), when set.
    pub health_check: Option<HealthCheck>,
}

/// Which endpoint a call goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoadBalancing {
    /// The first endpoint that is up, in the order given (gRPC's default).
    #[default]
    PickFirst,
    /// Each call to the next endpoint that is up.
    RoundRobin,
}

/// Outlier ejection: `consecutive_failures` `UNAVAILABLE` calls or failed health checks in a
/// row set an endpoint aside for `base_time` times its ejections so far, at most `max_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ejection {
    /// Failures in a row that eject an endpoint (5).
    pub consecutive_failures: u32,
    /// The first ejection's length (30 s, as gRPC's outlier detection).
    pub base_time: Duration,
    /// The longest ejection (300 s).
    pub max_time: Duration,
}

impl Default for Ejection {
    fn default() -> Ejection {
        Ejection {
            consecutive_failures: 5,
            base_time: Duration::from_secs(30),
            max_time: Duration::from_secs(300),
        }
    }
}

/// Health checks: every `interval`, `grpc.health.v1.Health/Check` to each endpoint, which
/// fails unless `SERVING` within `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheck {
    /// Between two checks of an endpoint.
    pub interval: Duration,
    /// How long one check may take (1 s).
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawResilience {
    #[serde(default)]
    backoff: Option<RawBackoff>,
    #[serde(default)]
    service_config: Option<serde_json::Value>,
    #[serde(default)]
    service_config_lookup: Option<bool>,
    #[serde(default)]
    keepalive: Option<RawKeepalive>,
    #[serde(default)]
    wait_for_ready: bool,
    #[serde(default)]
    load_balancing: Option<String>,
    #[serde(default)]
    ejection: Option<RawEjection>,
    #[serde(default)]
    health_check: Option<RawHealth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEjection {
    consecutive_failures: Option<u32>,
    base_time: Option<String>,
    max_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawHealth {
    interval: String,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawKeepalive {
    interval: String,
    timeout: Option<String>,
}

impl Resilience {
    /// Reads the options from JSON text:
    /// `{"backoff": {"initial": "1s", "multiplier": 1.6, "jitter": 0.2, "max": "120s",
    /// "minConnectTimeout": "20s"}, "serviceConfig": {…gRPC service config…},
    /// "serviceConfigLookup": true, "keepalive": {"interval": "10s", "timeout": "20s"},
    /// "waitForReady": false}`.
    /// Every key is optional; an unknown key is `InvalidArgument`.
    pub fn from_json(text: &str) -> Result<Resilience> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid resilience options: {e}"),
            )
            .with_reason("BAD_RESILIENCE_OPTIONS")
        };
        let raw: RawResilience = serde_json::from_str(text).map_err(|e| bad(&e))?;
        let service_config = match raw.service_config {
            None => None,
            Some(v) => Some(Arc::new(ServiceConfig::from_json(&v.to_string())?)),
        };
        let keepalive = match raw.keepalive {
            None => None,
            Some(k) => {
                let interval = parse_duration(&k.interval)?;
                let timeout = k.timeout.as_deref().map(parse_duration).transpose()?;
                if interval < Duration::from_millis(10) {
                    return Err(bad(&"keepalive interval must be at least 10ms"));
                }
                Some(Keepalive {
                    interval,
                    timeout: timeout.unwrap_or(Keepalive::DEFAULT_TIMEOUT),
                })
            }
        };
        let load_balancing = match raw.load_balancing.as_deref() {
            None | Some("pick_first") => LoadBalancing::PickFirst,
            Some("round_robin") => LoadBalancing::RoundRobin,
            Some(other) => return Err(bad(&format!("unknown loadBalancing {other:?}"))),
        };
        let d = Ejection::default();
        let dur = |v: Option<String>, default| v.as_deref().map_or(Ok(default), parse_duration);
        let ejection = match raw.ejection {
            None => d,
            Some(e) => Ejection {
                consecutive_failures: e
                    .consecutive_failures
                    .unwrap_or(d.consecutive_failures)
                    .max(1),
                base_time: dur(e.base_time, d.base_time)?,
                max_time: dur(e.max_time, d.max_time)?,
            },
        };
        let health_check = match raw.health_check {
            None => None,
            Some(h) => Some(HealthCheck {
                interval: parse_duration(&h.interval)?.max(Duration::from_millis(10)),
                timeout: dur(h.timeout, Duration::from_secs(1))?,
            }),
        };
        Ok(Resilience {
            backoff: raw
                .backoff
                .map(RawBackoff::parse)
                .transpose()?
                .unwrap_or_default(),
            service_config,
            service_config_lookup: raw.service_config_lookup,
            keepalive,
            wait_for_ready: raw.wait_for_ready,
            load_balancing,
            ejection,
            health_check,
        })
    }

    /// A service config from its JSON text (for [`Resilience::service_config`]).
    pub fn with_service_config(mut self, json: &str) -> Result<Resilience> {
        self.service_config = Some(Arc::new(ServiceConfig::from_json(json)?));
        Ok(self)
    }

    /// The service config in force, given the one a server announced (`served`, JSON text,
    /// empty for none): the one given at connect, else the served one unless lookup is off.
    /// A served config this client cannot read (a newer server's keys) is set aside with a
    /// warning, as gRPC keeps its default config when a resolver's is invalid.
    pub(crate) fn in_force(&self, served: &str) -> Option<Arc<ServiceConfig>> {
        if let Some(given) = &self.service_config {
            return Some(given.clone());
        }
        if self.service_config_lookup == Some(false) || served.is_empty() {
            return None;
        }
        match ServiceConfig::from_json(served) {
            Ok(config) => Some(Arc::new(config)),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring the service config the server announced");
                None
            }
        }
    }
}

/// The retry budget of a service config, if it has one.
pub(crate) fn throttle(config: Option<&Arc<ServiceConfig>>) -> Option<Throttle> {
    let (max, ratio) = config?.throttling?;
    Some(Throttle::new(max, ratio))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVED: &str = r#"{"methodConfig": [{"name": [{}], "timeout": "2s"}]}"#;

    #[test]
    fn the_config_in_force_is_the_given_one_else_a_readable_served_one() {
        let none = Resilience::default();
        assert_eq!(none.in_force(SERVED).unwrap().json(), SERVED);
        assert!(none.in_force("").is_none());
        // A served config this client cannot read (a newer server's key) is set aside.
        assert!(none
            .in_force(r#"{"methodConfig": [], "newKey": 1}"#)
            .is_none());
        let off = Resilience::from_json(r#"{"serviceConfigLookup": false}"#).unwrap();
        assert!(off.in_force(SERVED).is_none());
        let given = Resilience::default().with_service_config("{}").unwrap();
        assert_eq!(given.in_force(SERVED).unwrap().json(), "{}");
    }
}
