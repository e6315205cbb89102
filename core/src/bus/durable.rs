//! A durable subscription that a binding's threads share ([`SharedDurableSubscription`]): one
//! `next` waits at a time (others queue behind it), a timeout ends a wait without losing a
//! delivery, and [`close`](SharedDurableSubscription::close) from any thread ends a wait in
//! progress at once. The same contract as [`SharedSubscription`](super::SharedSubscription),
//! for JetStream's [`DurableSubscription`]: written once here, not in each binding.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Delivery, DurableSubscription, Next};
use crate::error::Result;

/// A [`DurableSubscription`] shared by threads, with a `close` that ends a wait in progress.
pub struct SharedDurableSubscription {
    sub: tokio::sync::Mutex<Option<DurableSubscription>>,
    closed: CancellationToken,
}

impl std::fmt::Debug for SharedDurableSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDurableSubscription")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SharedDurableSubscription {
    /// Shares `sub`.
    pub fn new(sub: DurableSubscription) -> SharedDurableSubscription {
        SharedDurableSubscription {
            sub: tokio::sync::Mutex::new(Some(sub)),
            closed: CancellationToken::new(),
        }
    }

    /// The next delivery, waiting at most `timeout` (`None`: until one comes or it is closed).
    /// An event that fails its check is `Next::Event(Err(..))` (it was terminated); the
    /// subscription goes on.
    pub async fn next_within(&self, timeout: Option<Duration>) -> Next<Result<Delivery>> {
        let wait = async {
            let mut guard = tokio::select! {
                biased;
                () = self.closed.cancelled() => return Next::Closed,
                g = self.sub.lock() => g,
            };
            let next = match guard.as_mut() {
                Some(sub) => tokio::select! {
                    biased;
                    () = self.closed.cancelled() => Next::Closed,
                    d = sub.next() => d.map_or(Next::Closed, Next::Event),
                },
                None => Next::Closed,
            };
            if self.closed.is_cancelled() {
                // Closed while this waited holding the subscription: stop reading here.
                guard.take();
            }
            next
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, wait)
                .await
                .unwrap_or(Next::TimedOut),
            None => wait.await,
        }
    }

    /// [`next_within`](SharedDurableSubscription::next_within) from synchronous code, on the
    /// calling thread; `stop` (a host's interrupt) ends the wait as a timeout does.
    pub fn next_blocking(
        &self,
        timeout: Option<Duration>,
        stop: Option<&CancellationToken>,
    ) -> Result<Next<Result<Delivery>>> {
        let never = CancellationToken::new();
        let stop = stop.unwrap_or(&never);
        crate::runtime::block_on(async {
            tokio::select! {
                () = stop.cancelled() => Next::TimedOut,
                next = self.next_within(timeout) => next,
            }
        })
    }

    /// Stops reading, without waiting: a `next` in progress returns [`Next::Closed`] at once,
    /// and so does every later one. Deliveries not acknowledged come again to the consumer's
    /// other readers after their `ack_wait`. Idempotent.
    pub fn close(&self) {
        self.closed.cancel();
        if let Ok(mut guard) = self.sub.try_lock() {
            guard.take();
        }
    }

    /// Whether [`close`](SharedDurableSubscription::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}
