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
    /// Retry and hedging policies per method (none: no retries but transparent ones).
    pub service_config: Option<Arc<ServiceConfig>>,
    /// PING/PONG on `unix://` and `ws://`, HTTP/2 PING on `grpc://`.
    pub keepalive: Option<Keepalive>,
    /// The default of [`CallOptions::wait_for_ready`](super::CallOptions::wait_for_ready).
    pub wait_for_ready: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawResilience {
    #[serde(default)]
    backoff: Option<RawBackoff>,
    #[serde(default)]
    service_config: Option<serde_json::Value>,
    #[serde(default)]
    keepalive: Option<RawKeepalive>,
    #[serde(default)]
    wait_for_ready: bool,
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
    /// "keepalive": {"interval": "10s", "timeout": "20s"}, "waitForReady": false}`.
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
        Ok(Resilience {
            backoff: raw
                .backoff
                .map(RawBackoff::parse)
                .transpose()?
                .unwrap_or_default(),
            service_config,
            keepalive,
            wait_for_ready: raw.wait_for_ready,
        })
    }

    /// A service config from its JSON text (for [`Resilience::service_config`]).
    pub fn with_service_config(mut self, json: &str) -> Result<Resilience> {
        self.service_config = Some(Arc::new(ServiceConfig::from_json(json)?));
        Ok(self)
    }

    /// The retry budget of the service config, if it has one.
    pub(crate) fn throttle(&self) -> Option<Throttle> {
        let (max, ratio) = self.service_config.as_ref()?.throttling?;
        Some(Throttle::new(max, ratio))
    }
}
