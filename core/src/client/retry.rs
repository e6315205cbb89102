//! The attempts of one unary call: a transport whose connection is up (reconnecting, and for a
//! call that waits for ready, waiting), then the call; after a failure, another attempt when
//! the call never reached the server (a transparent retry) or when the method's
//! [`RetryPolicy`](super::policy::RetryPolicy) allows it (a retryable code, attempts left, the
//! method idempotent or the policy says `retryNonIdempotent`, and the retry budget not spent).
//! Attempts after the first carry `grpc-previous-rpc-attempts`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backoff::random_unit;
use super::policy::{MethodPolicy, Throttle};
use crate::error::Result;
use crate::transport::PREVIOUS_ATTEMPTS;

/// Transparent retries allowed to one call (each after the connection came back).
const TRANSPARENT_MAX: u32 = 8;

/// The first pause of a call that waits for ready after an attempt that never left.
const WAIT_PAUSE: Duration = Duration::from_millis(10);

/// The retry state of one call.
pub(crate) struct Attempts<'a> {
    policy: Option<&'a MethodPolicy>,
    idempotent: bool,
    throttle: Option<&'a Throttle>,
    /// Attempts that may have reached the server.
    sent: u32,
    transparent: u32,
    deadline: Option<Instant>,
    /// The call waits for ready: an attempt that never left is tried again after a pause,
    /// until the deadline, however often (a transport that reconnects by itself, gRPC's channel
    /// or HTTP's pool, answers "not sent" while its server is down).
    wait: bool,
}

impl<'a> Attempts<'a> {
    pub(crate) fn new(
        policy: Option<&'a Arc<MethodPolicy>>,
        idempotent: bool,
        throttle: Option<&'a Throttle>,
        deadline: Option<Instant>,
    ) -> Attempts<'a> {
        Attempts {
            policy: policy.map(|p| &**p),
            idempotent,
            throttle,
            sent: 0,
            transparent: 0,
            deadline,
            wait: false,
        }
    }

    /// These attempts wait for ready (see [`Attempts::after`]).
    pub(crate) fn waiting(mut self, wait: bool) -> Attempts<'a> {
        self.wait = wait;
        self
    }

    /// Prepares the head of the next attempt: the time left, and the attempts before it.
    pub(crate) fn head(&self, head: &crate::call::CallHead) -> crate::call::CallHead {
        let mut head = head.clone();
        if let Some(d) = self.deadline {
            head.timeout = Some(d.saturating_duration_since(Instant::now()));
        }
        if self.sent > 0 {
            head.metadata
                .insert(PREVIOUS_ATTEMPTS, self.sent.to_string());
        }
        head
    }

    /// The outcome of an attempt: `None` to return it, `Some(wait)` to try again after `wait`.
    pub(crate) fn after<T>(&mut self, result: &Result<T>) -> Option<Duration> {
        let err = match result {
            Ok(_) => {
                if let Some(t) = self.throttle {
                    t.succeeded();
                }
                return None;
            }
            Err(e) => e,
        };
        // The transports mark an error of a call that never reached the server (`unsent`); an
        // error from a server never has the mark.
        if err.is_unsent() {
            self.transparent += 1;
            if self.wait {
                // 10 ms, doubling up to 320 ms, shortened to the deadline.
                let pause = WAIT_PAUSE * (1 << self.transparent.min(6) >> 1);
                let pause = self.deadline.map_or(pause, |d| {
                    pause.min(d.saturating_duration_since(Instant::now()))
                });
                return self.time_left().then_some(pause);
            }
            return (self.transparent <= TRANSPARENT_MAX && self.time_left())
                .then_some(Duration::ZERO);
        }
        self.sent += 1;
        let retry = self.policy?.retry.as_ref()?;
        if !retry.retryable.contains(&err.code()) {
            return None;
        }
        if let Some(t) = self.throttle {
            t.failed();
        }
        let allowed = self.sent < retry.max_attempts
            && (self.idempotent || self.policy.is_some_and(|p| p.retry_non_idempotent))
            && self.throttle.is_none_or(Throttle::allows)
            && self.time_left();
        if !allowed {
            return None;
        }
        let n = (self.sent - 1).min(64) as i32;
        let cap = (retry.initial_backoff.as_secs_f64() * retry.multiplier.powi(n))
            .min(retry.max_backoff.as_secs_f64());
        Some(Duration::from_secs_f64(cap * random_unit()))
    }

    /// The outcome of the call once [`after`](Attempts::after) said to return it: a call that
    /// waited for ready until its deadline without reaching a server ended by its deadline.
    pub(crate) fn finish<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Err(e) if self.wait && e.is_unsent() && !self.time_left() => {
                Err(crate::error::Error::deadline_exceeded())
            }
            other => other,
        }
    }

    fn time_left(&self) -> bool {
        self.deadline.is_none_or(|d| Instant::now() < d)
    }
}
