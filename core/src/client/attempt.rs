//! A unary call with encoded bytes, async and blocking: the one place every unary call goes
//! through, where the [`Pool`](super::pool::Pool) gives it a live connection and
//! [`Attempts`] decides on retries. A call with no policy and no wait for ready (the common
//! case) is one attempt on the current connection, with nothing cloned or locked for retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::policy::{is_idempotent, MethodPolicy};
use super::pool::Picked;
use super::retry::Attempts;
use super::{CallOptions, Client};
use crate::call::{in_blocker, Blocker, Watch};
use crate::codec::Codec;
use crate::error::Result;
use crate::metadata::Reply;

impl Client {
    /// The method's policy from the service config, if any.
    pub(super) fn policy(&self, method: &str) -> Option<&Arc<MethodPolicy>> {
        self.inner.config.as_ref()?.policy(method)
    }

    fn idempotent(&self, method: &str) -> bool {
        self.inner.schema.method(method).is_some_and(is_idempotent)
    }

    pub(super) fn wait_for_ready(
        &self,
        opts: &CallOptions,
        policy: Option<&Arc<MethodPolicy>>,
    ) -> bool {
        opts.wait_for_ready
            .or(policy.and_then(|p| p.wait_for_ready))
            .unwrap_or(self.inner.wait_for_ready)
    }

    /// `opts` with the policy's timeout when the call sets none.
    fn with_policy_timeout<'o>(
        opts: &'o CallOptions,
        policy: Option<&Arc<MethodPolicy>>,
    ) -> std::borrow::Cow<'o, CallOptions> {
        match policy.and_then(|p| p.timeout) {
            Some(t) if opts.timeout.is_none() => std::borrow::Cow::Owned(CallOptions {
                timeout: Some(t),
                ..opts.clone()
            }),
            _ => std::borrow::Cow::Borrowed(opts),
        }
    }

    pub(super) async fn call_bytes(
        &self,
        method: &str,
        request: Bytes,
        opts: &CallOptions,
        codec: Codec,
    ) -> Result<Reply<Bytes>> {
        let policy = self.policy(method);
        let wait = self.wait_for_ready(opts, policy);
        let opts = Self::with_policy_timeout(opts, policy);
        let head = self.head(method, &opts, codec);
        if policy.is_none() && !wait {
            let (channel, closed) = (&self.inner.channel, &self.inner.closed);
            return self
                .run(head, move |mut head, meter| {
                    Box::pin(async move {
                        let (i, t) = match channel.ready_now() {
                            Some(p) => p,
                            None => {
                                // The timeout sent is what is left after the connect.
                                let begun = std::time::Instant::now();
                                let ready = channel.ready(false, None, closed).await?;
                                head.timeout =
                                    head.timeout.map(|t| t.saturating_sub(begun.elapsed()));
                                ready
                            }
                        };
                        let attempt = meter.only_attempt(request.len());
                        let result = t.unary(head, request).await;
                        attempt.end(&result);
                        channel.report(i, &result);
                        result
                    })
                })
                .await;
        }
        let client = self.clone();
        let idempotent = self.idempotent(method);
        let policy = policy.cloned();
        self.run(head, move |head, meter| {
            Box::pin(async move {
                let safe = idempotent || policy.as_ref().is_some_and(|p| p.retry_non_idempotent);
                if let Some(hedging) = policy.as_ref().and_then(|p| p.hedging.as_ref()) {
                    if safe {
                        return super::hedge::call(&client, &head, request, hedging, (wait, meter))
                            .await;
                    }
                }
                let inner = &client.inner;
                let deadline = head.timeout.map(|t| Instant::now() + t);
                let throttle = inner.throttle.as_ref();
                let mut attempts =
                    Attempts::new(policy.as_ref(), idempotent, throttle, deadline).waiting(wait);
                loop {
                    let (i, t) = inner.channel.ready(wait, deadline, &inner.closed).await?;
                    let attempt = meter.attempt(request.len());
                    let result = t.unary(attempts.head(&head), request.clone()).await;
                    attempt.end(&result);
                    inner.channel.report(i, &result);
                    match attempts.after(&result) {
                        None => return attempts.finish(result),
                        Some(pause) => tokio::time::sleep(pause).await,
                    }
                }
            })
        })
        .await
    }

    /// A blocking call: on the calling thread where the transport can (and the thread is
    /// not a runtime's), else waiting for [`call_bytes`](Client::call_bytes) in `blocker`.
    pub(super) fn call_bytes_blocking(
        &self,
        method: &str,
        request: Bytes,
        opts: &CallOptions,
        codec: Codec,
        blocker: &dyn Blocker,
    ) -> Result<Reply<Bytes>> {
        crate::runtime::guard_thread();
        let policy = self.policy(method);
        let hedged = policy.is_some_and(|p| p.hedging.is_some());
        let on_runtime =
            tokio::runtime::Handle::try_current().is_ok() && !crate::runtime::own_thread();
        let pool = &self.inner.channel;
        if !pool.lanes() || on_runtime || hedged {
            let call = self.call_bytes(method, request, opts, codec);
            return in_blocker(blocker, || crate::runtime::block_on(call).and_then(|r| r));
        }
        let wait = self.wait_for_ready(opts, policy);
        let opts = Self::with_policy_timeout(opts, policy);
        let head = self.head(method, &opts, codec);
        if policy.is_none() && !wait {
            if let Some((i, t)) = pool.ready_now() {
                return self.run_blocking(head, |head, watch, meter| {
                    let attempt = meter.only_attempt(request.len());
                    let result = t.unary_blocking(head, request, watch, blocker);
                    attempt.end(&result);
                    pool.report(i, &result);
                    result
                });
            }
        }
        let idempotent = self.idempotent(method);
        self.run_blocking(head, |head, watch, meter| {
            let inner = &self.inner;
            let throttle = inner.throttle.as_ref();
            let mut attempts =
                Attempts::new(policy, idempotent, throttle, watch.deadline).waiting(wait);
            loop {
                let (i, t) = self.ready_blocking(wait, watch, blocker)?;
                let attempt = meter.attempt(request.len());
                let result =
                    t.unary_blocking(attempts.head(&head), request.clone(), watch, blocker);
                attempt.end(&result);
                pool.report(i, &result);
                match attempts.after(&result) {
                    None => return attempts.finish(result),
                    Some(pause) => sleep_watching(pause, watch, blocker)?,
                }
            }
        })
    }

    /// [`Pool::ready`](super::pool::Pool::ready) for a thread that may block: it ends as the
    /// call would, at the caller's cancellation (`CANCELLED`) or the deadline
    /// (`DEADLINE_EXCEEDED`), even while another caller holds the connection attempt. It waits
    /// in `blocker`, as every wait of a blocking call does (a Ruby thread gives the GVL up: a
    /// connection attempt may take seconds).
    fn ready_blocking(&self, wait: bool, watch: &Watch, blocker: &dyn Blocker) -> Result<Picked> {
        if let Some(p) = self.inner.channel.ready_now() {
            return Ok(p);
        }
        let channel = &self.inner.channel;
        let ready = watch.until(channel.ready(wait, watch.deadline, &self.inner.closed));
        in_blocker(blocker, || crate::runtime::block_on(ready).and_then(|r| r))
    }
}

/// Sleeps `pause` (a retry's backoff) in `blocker`, in slices, ending early with the error of
/// a call that has to stop.
fn sleep_watching(pause: Duration, watch: &Watch, blocker: &dyn Blocker) -> Result<()> {
    let until = Instant::now() + pause;
    in_blocker(blocker, || loop {
        if let Some(e) = watch.stopped() {
            return Err(e);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    })
}
