//! Hedged calls (a service config's `hedgingPolicy`): the first attempt at once, another
//! every `hedgingDelay` while none has answered, at most `maxAttempts` in all; the first
//! success wins and the others are cancelled (dropping them sends their CANCEL). An error
//! whose code is in `nonFatalStatusCodes` lets the others go on (and starts the next one at
//! once); any other error ends the call. Like retries, hedges are made only for methods the
//! schema marks safe (or with `retryNonIdempotent`), while the retry budget allows, and each
//! copy carries `grpc-previous-rpc-attempts`.

use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::policy::{HedgingPolicy, Throttle};
use super::tracked::Meter;
use super::Client;
use crate::call::CallHead;
use crate::error::{Error, Result};
use crate::metadata::Reply;
use crate::transport::PREVIOUS_ATTEMPTS;

/// Makes the call `head` with `request` by `policy`.
pub(super) async fn call(
    client: &Client,
    head: &CallHead,
    request: Bytes,
    policy: &HedgingPolicy,
    (wait, meter): (bool, Meter<'_>),
) -> Result<Reply<Bytes>> {
    let inner = &client.inner;
    let deadline = head.timeout.map(|t| Instant::now() + t);
    let throttle: Option<&Throttle> = inner.throttle.as_ref();
    let attempt = |n: u32| {
        let mut head = head.clone();
        if let Some(d) = deadline {
            head.timeout = Some(d.saturating_duration_since(Instant::now()));
        }
        if n > 0 {
            head.metadata.insert(PREVIOUS_ATTEMPTS, n.to_string());
        }
        let request = request.clone();
        async move {
            let (i, t) = inner.channel.ready(wait, deadline, &inner.closed).await?;
            let attempt = meter.attempt(request.len());
            let result = t.unary(head, request).await;
            attempt.end(&result);
            inner.channel.report(i, &result);
            result
        }
    };
    let mut running = FuturesUnordered::new();
    running.push(attempt(0));
    let mut started = 1;
    let mut next = Instant::now() + policy.delay;
    let mut last: Option<Error> = None;
    loop {
        let more = started < policy.max_attempts && throttle.is_none_or(Throttle::allows);
        tokio::select! {
            done = running.next() => match done {
                Some(Ok(reply)) => {
                    if let Some(t) = throttle {
                        t.succeeded();
                    }
                    return Ok(reply);
                }
                Some(Err(e)) if policy.non_fatal.contains(&e.code()) => {
                    if let Some(t) = throttle {
                        t.failed();
                    }
                    last = Some(e);
                    next = Instant::now();
                }
                Some(Err(e)) => return Err(e),
                None if !more => {
                    return Err(last.unwrap_or_else(|| Error::unavailable("no hedged attempt")))
                }
                None => next = Instant::now(),
            },
            _ = tokio::time::sleep_until(next.into()), if more => {
                running.push(attempt(started));
                started += 1;
                next = Instant::now() + policy.delay;
            }
        }
    }
}
