//! Sending one call: the deadline and cancellation it inherits from the handler it is made in
//! ([`inherit`]), and the race of the call against its caller's cancellation, the client's
//! close and its timeout ([`send`]).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::CallOptions;
use crate::call::{cancelled_at, CallHead};
use crate::error::{Error, Result};

/// The timeout and cancellation of a call made inside a handler: the earlier of its own
/// deadline and the handler's; cancelled when the handler's call is (or by its own token).
pub(super) fn inherit(
    opts: &CallOptions,
    from: crate::context::Inherited,
) -> (Option<Duration>, Option<CancellationToken>) {
    let left = from
        .deadline
        .map(|d| d.saturating_duration_since(Instant::now()));
    let timeout = match (opts.timeout, left) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let cancel = match &opts.cancel {
        None => from.cancel,
        Some(own) => {
            let both = from.cancel.child_token();
            let (own, linked) = (own.clone(), both.clone());
            crate::runtime::handle().spawn(async move {
                tokio::select! {
                    _ = own.cancelled() => linked.cancel(),
                    _ = linked.cancelled() => {}
                }
            });
            both
        }
    };
    (timeout, Some(cancel))
}

/// Sends a call through the transport, within its timeout, until `cancel` fires.
pub(super) async fn send<'a, T>(
    head: CallHead,
    cancel: Option<CancellationToken>,
    closed: &CancellationToken,
    fut: impl FnOnce(CallHead) -> crate::handler::BoxFuture<'a, Result<T>>,
) -> Result<T> {
    let timeout = head.timeout;
    let deadline = timeout.map(|t| Instant::now() + t);
    let call = async move {
        match timeout {
            Some(t) => tokio::time::timeout(t, fut(head))
                .await
                .unwrap_or_else(|_| Err(Error::deadline_exceeded())),
            None => fut(head).await,
        }
    };
    let cancelled = async {
        match &cancel {
            Some(cancel) => cancel.cancelled().await,
            None => std::future::pending().await,
        }
    };
    // Cancellation first: a handler that saw it may have answered already.
    let result = tokio::select! {
        biased;
        _ = cancelled => Err(cancelled_at(deadline)),
        _ = closed.cancelled() => Err(Error::client_closed()),
        r = call => r,
    };
    // A reply that came after the deadline is late, whatever kept the timer from firing first
    // (a handler run inline on this thread, as an `inproc://` server's blocking one is).
    match (result, deadline) {
        (Ok(_), Some(d)) if Instant::now() > d => Err(Error::deadline_exceeded()),
        (result, _) => result,
    }
}
