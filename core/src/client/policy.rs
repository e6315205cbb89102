//! Retry policies from a gRPC service config (JSON, as in gRPC's `service_config.proto`):
//! `methodConfig` entries with `name` (`[{service, method}]`), `retryPolicy`, `hedgingPolicy`,
//! `waitForReady`, `timeout`, and the top-level `retryThrottling` (a retry budget, [`Throttle`]).
//! One hms-specific key per method config, `retryNonIdempotent`, lets a policy retry methods
//! the schema does not mark `IDEMPOTENT` or `NO_SIDE_EFFECTS`. See `docs/resilience.md`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Code, Error, Result};
use crate::schema::MethodInfo;

/// gRPC caps `maxAttempts` (retries and hedges) at five.
pub const MAX_ATTEMPTS_CAP: u32 = 5;

/// A `retryPolicy`: attempts after a failure with one of `retryable` codes.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (2..=5).
    pub max_attempts: u32,
    /// The backoff before the first retry (a random wait below it is taken).
    pub initial_backoff: Duration,
    /// The largest backoff.
    pub max_backoff: Duration,
    /// Each retry's backoff is the last one's times this.
    pub multiplier: f64,
    /// The codes a retry follows.
    pub retryable: Vec<Code>,
}

/// A `hedgingPolicy`: up to `max_attempts` copies of the call, one every `delay` until one
/// answers; an error whose code is not in `non_fatal` ends the call at once.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgingPolicy {
    /// Copies in all, the first included (2..=5).
    pub max_attempts: u32,
    /// The wait before each further copy.
    pub delay: Duration,
    /// Codes after which the other copies go on.
    pub non_fatal: Vec<Code>,
}

/// What one `methodConfig` entry says about its methods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodPolicy {
    /// Retries after a failure.
    pub retry: Option<RetryPolicy>,
    /// Parallel copies of a call.
    pub hedging: Option<HedgingPolicy>,
    /// Wait for a connection up to the deadline (the call's own option wins).
    pub wait_for_ready: Option<bool>,
    /// A deadline for calls that set none.
    pub timeout: Option<Duration>,
    /// Retry and hedge methods the schema does not mark idempotent (hms-specific).
    pub retry_non_idempotent: bool,
}

/// The parsed service config: a policy per method, per service and a default.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    methods: HashMap<String, Arc<MethodPolicy>>,
    services: HashMap<String, Arc<MethodPolicy>>,
    default: Option<Arc<MethodPolicy>>,
    /// `retryThrottling`, when given.
    pub throttling: Option<(u32, f64)>,
    /// The JSON text it was read from (empty for the default), as a server announces it.
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    method_config: Vec<RawMethod>,
    retry_throttling: Option<RawThrottle>,
    #[serde(default)]
    load_balancing_config: Option<serde_json::Value>,
    #[serde(default)]
    load_balancing_policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawMethod {
    #[serde(default)]
    name: Vec<RawName>,
    wait_for_ready: Option<bool>,
    timeout: Option<String>,
    retry_policy: Option<RawRetry>,
    hedging_policy: Option<RawHedging>,
    #[serde(default)]
    retry_non_idempotent: bool,
    max_request_message_bytes: Option<serde_json::Value>,
    max_response_message_bytes: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawName {
    #[serde(default)]
    service: String,
    #[serde(default)]
    method: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRetry {
    max_attempts: u32,
    initial_backoff: String,
    max_backoff: String,
    backoff_multiplier: f64,
    retryable_status_codes: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHedging {
    max_attempts: u32,
    #[serde(default)]
    hedging_delay: Option<String>,
    #[serde(default)]
    non_fatal_status_codes: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawThrottle {
    max_tokens: u32,
    token_ratio: f64,
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::new(
        Code::InvalidArgument,
        format!("invalid service config: {why}"),
    )
    .with_reason("BAD_SERVICE_CONFIG")
}

/// A protobuf JSON duration: `"0.1s"`, `"2s"`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let d = crate::value::time::parse_duration(text).map_err(bad)?;
    match (u64::try_from(d.seconds), u32::try_from(d.nanos)) {
        (Ok(seconds), Ok(nanos)) => Ok(Duration::new(seconds, nanos)),
        _ => Err(bad(format!("{text:?} is a negative duration"))),
    }
}

fn codes(list: &[serde_json::Value]) -> Result<Vec<Code>> {
    list.iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.parse::<Code>().map_err(bad),
            serde_json::Value::Number(n) => n
                .as_i64()
                .filter(|n| (1..=16).contains(n))
                .map(|n| Code::from_i32(n as i32))
                .ok_or_else(|| bad(format!("{n} is not a status code"))),
            other => Err(bad(format!("{other} is not a status code"))),
        })
        .collect()
}

fn attempts(n: u32) -> Result<u32> {
    if n < 2 {
        return Err(bad("maxAttempts must be at least 2"));
    }
    Ok(n.min(MAX_ATTEMPTS_CAP))
}

impl RawMethod {
    fn policy(self) -> Result<MethodPolicy> {
        if self.retry_policy.is_some() && self.hedging_policy.is_some() {
            return Err(bad(
                "a method config has a retryPolicy or a hedgingPolicy, not both",
            ));
        }
        let _ = (
            self.max_request_message_bytes,
            self.max_response_message_bytes,
        );
        let retry = match self.retry_policy {
            None => None,
            Some(r) => {
                let multiplier = r.backoff_multiplier;
                if !(multiplier.is_finite() && multiplier > 0.0) {
                    return Err(bad("backoffMultiplier must be above 0"));
                }
                let retryable = codes(&r.retryable_status_codes)?;
                if retryable.is_empty() {
                    return Err(bad("retryableStatusCodes must not be empty"));
                }
                Some(RetryPolicy {
                    max_attempts: attempts(r.max_attempts)?,
                    initial_backoff: parse_duration(&r.initial_backoff)?,
                    max_backoff: parse_duration(&r.max_backoff)?,
                    multiplier,
                    retryable,
                })
            }
        };
        let hedging = match self.hedging_policy {
            None => None,
            Some(h) => Some(HedgingPolicy {
                max_attempts: attempts(h.max_attempts)?,
                delay: h
                    .hedging_delay
                    .as_deref()
                    .map_or(Ok(Duration::ZERO), parse_duration)?,
                non_fatal: codes(&h.non_fatal_status_codes)?,
            }),
        };
        Ok(MethodPolicy {
            retry,
            hedging,
            wait_for_ready: self.wait_for_ready,
            timeout: self.timeout.as_deref().map(parse_duration).transpose()?,
            retry_non_idempotent: self.retry_non_idempotent,
        })
    }
}

impl ServiceConfig {
    /// Parses a service config's JSON text. Unknown keys are refused (a typo would otherwise
    /// silently turn retries off).
    pub fn from_json(text: &str) -> Result<ServiceConfig> {
        let raw: RawConfig = serde_json::from_str(text).map_err(bad)?;
        let _ = (raw.load_balancing_config, raw.load_balancing_policy);
        let mut config = ServiceConfig {
            text: text.trim().to_string(),
            ..ServiceConfig::default()
        };
        for mut m in raw.method_config {
            let names = std::mem::take(&mut m.name);
            let policy = Arc::new(m.policy()?);
            for n in names {
                match (n.service.is_empty(), n.method.is_empty()) {
                    (true, true) => config.default = Some(policy.clone()),
                    (false, true) => {
                        config.services.insert(n.service, policy.clone());
                    }
                    (false, false) => {
                        let name = format!("{}/{}", n.service, n.method);
                        config.methods.insert(name, policy.clone());
                    }
                    (true, false) => return Err(bad("a name with a method needs its service")),
                }
            }
        }
        if let Some(t) = raw.retry_throttling {
            if t.max_tokens == 0
                || t.max_tokens > 1000
                || !(t.token_ratio.is_finite() && t.token_ratio > 0.0)
            {
                return Err(bad(
                    "retryThrottling needs maxTokens in 1..=1000, tokenRatio > 0",
                ));
            }
            config.throttling = Some((t.max_tokens, t.token_ratio));
        }
        Ok(config)
    }

    /// The JSON text this config was read from (empty for the default config).
    pub fn json(&self) -> &str {
        &self.text
    }

    /// True when no method has a policy and there is no throttling.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty() && self.services.is_empty() && self.default.is_none()
    }

    /// The policy of `method` (`package.Service/Method`): its own, its service's, or the default.
    pub fn policy(&self, method: &str) -> Option<&Arc<MethodPolicy>> {
        if let Some(p) = self.methods.get(method) {
            return Some(p);
        }
        let service = method.rsplit_once('/').map_or(method, |(s, _)| s);
        self.services.get(service).or(self.default.as_ref())
    }
}

/// Whether the schema marks a method safe to call twice: `option idempotency_level =
/// IDEMPOTENT` or `NO_SIDE_EFFECTS`.
pub fn is_idempotent(info: &MethodInfo) -> bool {
    let options = info.descriptor.options();
    match options.get_field_by_name("idempotency_level") {
        Some(v) => matches!(v.as_enum_number(), Some(1 | 2)),
        None => false,
    }
}

/// gRPC's retry throttling: a token bucket of `max_tokens`; each failed attempt takes one,
/// each success gives back `token_ratio`; retries and hedges stop while it holds half or less.
#[derive(Debug)]
pub(crate) struct Throttle {
    /// Tokens times 1000.
    milli: AtomicI64,
    max: i64,
    ratio: i64,
}

impl Throttle {
    /// A full bucket.
    pub(crate) fn new(max_tokens: u32, token_ratio: f64) -> Throttle {
        let max = i64::from(max_tokens) * 1000;
        Throttle {
            milli: AtomicI64::new(max),
            max,
            ratio: (token_ratio * 1000.0).round().max(1.0) as i64,
        }
    }

    /// An attempt failed with a retryable code.
    pub(crate) fn failed(&self) {
        let _ = self
            .milli
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some((t - 1000).max(0))
            });
    }

    /// An attempt succeeded.
    pub(crate) fn succeeded(&self) {
        let max = self.max;
        let ratio = self.ratio;
        let _ = self
            .milli
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(ratio).min(max))
            });
    }

    /// Whether a retry may be made now.
    pub(crate) fn allows(&self) -> bool {
        self.milli.load(Ordering::Acquire) * 2 > self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_takes_a_token_per_failure_and_survives_extreme_ratios() {
        let t = Throttle::new(4, 0.5);
        assert!(t.allows());
        t.failed();
        assert!(t.allows());
        t.failed();
        assert!(!t.allows(), "two tokens left of four: no more retries");
        t.succeeded();
        assert!(t.allows());
        let huge = Throttle::new(1000, 1e300);
        for _ in 0..3 {
            huge.succeeded();
            huge.failed();
        }
        assert!(huge.allows());
    }

    #[test]
    fn durations_are_protobuf_json_durations() {
        assert_eq!(parse_duration("0.25s").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        for bad in [
            "", "1", "-1s", "-0.5s", "NaNs", "infs", "1e20s", "1e5s", "1 s", ".5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
