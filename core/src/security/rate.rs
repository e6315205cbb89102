//! A request-rate limit per caller: a token bucket for each identity (or, for an anonymous
//! caller, each peer address). A caller over its rate gets `ResourceExhausted`; other callers'
//! buckets are untouched.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::interceptor::Interceptor;

/// Buckets kept before idle ones are forgotten.
const MAX_BUCKETS: usize = 65_536;

/// A rate: `per_second` calls on average, bursts of up to `burst` calls.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Calls per second, on average.
    pub per_second: f64,
    /// The most calls at once after an idle period (the bucket's size); at least 1.
    pub burst: f64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The interceptor enforcing a [`RateLimit`] per identity.
pub(crate) struct RateLimiter {
    rate: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rate", &self.rate)
            .finish()
    }
}

impl RateLimiter {
    pub(crate) fn new(rate: RateLimit) -> RateLimiter {
        RateLimiter {
            rate: RateLimit {
                per_second: rate.per_second.max(0.0),
                burst: rate.burst.max(1.0),
            },
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`; false when its bucket is empty.
    pub(crate) fn take(&self, key: &str, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            // Forget the buckets that have refilled: they hold no state worth keeping.
            let (rate, burst) = (self.rate.per_second, self.rate.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.rate.burst,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * self.rate.per_second;
        b.tokens = (b.tokens + refill).min(self.rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Interceptor for RateLimiter {
    fn before(&self, ctx: &mut Context) -> Result<()> {
        let key = match ctx.identity() {
            Some(id) => id.to_string(),
            None => format!("peer:{}", ctx.peer()),
        };
        if self.take(&key, Instant::now()) {
            return Ok(());
        }
        Err(Error::resource_exhausted(
            "RATE_LIMITED",
            format!(
                "{key} is over its rate of {} calls/s (burst {})",
                self.rate.per_second, self.rate.burst
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_empties_refills_and_is_per_key() {
        let r = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        assert!(r.take("a", t0) && r.take("a", t0) && r.take("a", t0));
        assert!(!r.take("a", t0));
        assert!(r.take("b", t0), "another caller keeps its own bucket");
        assert!(
            r.take("a", t0 + Duration::from_millis(100)),
            "refilled one token"
        );
        assert!(!r.take("a", t0 + Duration::from_millis(100)));
    }
}
