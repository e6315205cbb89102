//! Connection backoff (gRPC's `connection-backoff.md`): after `n` failed attempts to connect,
//! wait `initial * multiplier^n`, at most `max`, spread by `± jitter`; each attempt may take
//! `max(min_connect_timeout, current backoff)`. Also the random numbers the retries use.

use std::cell::Cell;
use std::time::Duration;

use serde::Deserialize;

use super::policy::parse_duration;
use crate::error::Result;

/// gRPC's connection-backoff parameters. The defaults are gRPC's.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The wait after the first failure (1 s).
    pub initial: Duration,
    /// Each further wait is the last one's times this (1.6).
    pub multiplier: f64,
    /// A wait is spread at random by this fraction either way (0.2).
    pub jitter: f64,
    /// The longest wait (120 s).
    pub max: Duration,
    /// The least time one attempt to connect is given (20 s).
    pub min_connect_timeout: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_secs(1),
            multiplier: 1.6,
            jitter: 0.2,
            max: Duration::from_secs(120),
            min_connect_timeout: Duration::from_secs(20),
        }
    }
}

/// `Backoff` as JSON: every key optional, durations as `"1s"`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawBackoff {
    initial: Option<String>,
    multiplier: Option<f64>,
    jitter: Option<f64>,
    max: Option<String>,
    min_connect_timeout: Option<String>,
}

impl RawBackoff {
    pub(crate) fn parse(self) -> Result<Backoff> {
        let d = Backoff::default();
        let dur = |v: Option<String>, default| v.as_deref().map_or(Ok(default), parse_duration);
        let b = Backoff {
            initial: dur(self.initial, d.initial)?,
            multiplier: self.multiplier.unwrap_or(d.multiplier),
            jitter: self.jitter.unwrap_or(d.jitter),
            max: dur(self.max, d.max)?,
            min_connect_timeout: dur(self.min_connect_timeout, d.min_connect_timeout)?,
        };
        if !(b.multiplier.is_finite() && b.multiplier >= 1.0 && (0.0..=1.0).contains(&b.jitter)) {
            return Err(crate::error::Error::new(
                crate::error::Code::InvalidArgument,
                "invalid backoff: multiplier must be >= 1 and jitter in 0..=1",
            ));
        }
        Ok(b)
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failed attempts (the first failure: 1).
    pub fn delay(&self, failures: u32) -> Duration {
        let n = failures.saturating_sub(1).min(64) as i32;
        let base =
            (self.initial.as_secs_f64() * self.multiplier.powi(n)).min(self.max.as_secs_f64());
        let spread = 1.0 + self.jitter * (2.0 * random_unit() - 1.0);
        Duration::from_secs_f64((base * spread).clamp(0.0, self.max.as_secs_f64()))
    }

    /// How long the attempt after `failures` failures may take to connect.
    pub fn connect_timeout(&self, failures: u32) -> Duration {
        let n = failures.min(64) as i32;
        let base =
            (self.initial.as_secs_f64() * self.multiplier.powi(n)).min(self.max.as_secs_f64());
        self.min_connect_timeout.max(Duration::from_secs_f64(base))
    }
}

/// A random number in `[0, 1)`: xorshift per thread, seeded from the standard library's
/// random hasher keys. Good enough for jitter; not for secrets.
pub(crate) fn random_unit() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x9e37_79b9_7f4a_7c15);
            h.finish() | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_the_multiplier_within_the_jitter_and_stop_at_max() {
        let b = Backoff::default();
        for _ in 0..200 {
            let first = b.delay(1).as_secs_f64();
            assert!((0.8..=1.2).contains(&first), "{first}");
            let third = b.delay(3).as_secs_f64();
            assert!((2.56 * 0.8..=2.56 * 1.2).contains(&third), "{third}");
            assert!(b.delay(40) <= b.max);
        }
        assert_eq!(b.connect_timeout(0), Duration::from_secs(20));
        assert_eq!(b.connect_timeout(30), Duration::from_secs(120));
    }
}
