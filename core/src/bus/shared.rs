//! A subscription that the threads of a binding share: one [`next`](SharedSubscription::next_blocking)
//! waits at a time (others queue behind it), a timeout ends a wait without losing an event,
//! and [`close`](SharedSubscription::close) — from any thread, without waiting — wakes a `next`
//! in progress, which then returns [`Next::Closed`], as does every later one. For the bindings
//! whose subscription is an object any thread may hold (C, UniFFI): the waiting is written once,
//! here.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::local::Counts;
use super::{RawEvent, Subscription};
use crate::error::Result;

/// What a wait for the next event ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Next<T> {
    /// An event, as the `take` function given made it.
    Event(T),
    /// The timeout passed first.
    TimedOut,
    /// The subscription is closed (or its bus is gone): no more events.
    Closed,
}

/// A [`Subscription`] shared by threads, with a `close` that ends a wait in progress.
pub struct SharedSubscription {
    sub: Arc<Mutex<Option<Subscription>>>,
    closed: CancellationToken,
    counts: Arc<Counts>,
}

impl std::fmt::Debug for SharedSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSubscription")
            .field("closed", &self.is_closed())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl SharedSubscription {
    /// Shares `sub`.
    pub fn new(sub: Subscription) -> SharedSubscription {
        SharedSubscription {
            counts: sub.rx.counts(),
            sub: Arc::new(Mutex::new(Some(sub))),
            closed: CancellationToken::new(),
        }
    }

    /// Waits at most `timeout` (`None`: until an event comes or it is closed) for the next
    /// event and hands it to `take` (which decodes it: [`Subscription::decode`] or
    /// [`decode_output`](Subscription::decode_output)).
    pub async fn next_with<T>(
        &self,
        timeout: Option<Duration>,
        take: impl FnOnce(&Subscription, RawEvent) -> T,
    ) -> Next<T> {
        let wait = async {
            let mut guard = tokio::select! {
                biased;
                () = self.closed.cancelled() => return Next::Closed,
                g = self.sub.lock() => g,
            };
            let Some(sub) = guard.as_mut() else {
                return Next::Closed;
            };
            let got = tokio::select! {
                biased;
                () = self.closed.cancelled() => None,
                raw = sub.next_raw() => Some(raw),
            };
            let next = match got {
                Some(Some(raw)) => Next::Event(take(sub, raw)),
                Some(None) | None => Next::Closed,
            };
            if self.closed.is_cancelled() {
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

    /// [`next_with`](SharedSubscription::next_with) from synchronous code, on the calling
    /// thread (`FailedPrecondition` inside a current-thread tokio runtime).
    pub fn next_blocking<T>(
        &self,
        timeout: Option<Duration>,
        take: impl FnOnce(&Subscription, RawEvent) -> T,
    ) -> Result<Next<T>> {
        crate::runtime::block_on(self.next_with(timeout, take))
    }

    /// Events dropped because the subscription's queue was full (read without waiting for a
    /// `next` in progress).
    pub fn dropped(&self) -> u64 {
        self.counts.dropped()
    }

    /// Whether [`close`](SharedSubscription::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Unsubscribes without waiting: a `next` in progress returns [`Next::Closed`] at once, and
    /// so does every later one. Idempotent.
    pub fn close(&self) {
        self.closed.cancel();
        match self.sub.try_lock() {
            Ok(mut guard) => drop(guard.take()),
            // A `next` holds it: it takes the subscription as it returns; this is for one that
            // was past its last look at `closed`.
            Err(_) => {
                let sub = self.sub.clone();
                crate::runtime::runtime().spawn(async move { sub.lock().await.take() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::bus::Bus;
    use crate::{Schema, Value};
    use std::time::Instant;

    fn shared() -> (Bus, Arc<SharedSubscription>) {
        let schema = Schema::from_source(
            "t.proto",
            "syntax = \"proto3\"; package t.v1; message A { string id = 1; }",
        )
        .unwrap();
        let bus = Bus::new(schema);
        bus.declare("a.>", "t.v1.A").unwrap();
        let sub = crate::runtime::block_on(bus.subscribe_pending("a.*", None, 2)).unwrap();
        (bus, Arc::new(SharedSubscription::new(sub.unwrap())))
    }

    fn topic(s: &Subscription, raw: RawEvent) -> String {
        s.decode(raw).unwrap().topic.to_string()
    }

    #[test]
    fn events_then_a_timeout_then_closed() {
        let (bus, sub) = shared();
        let publish = |t: &str| {
            let v = Value::message([("id", Value::from("x"))]);
            crate::runtime::block_on(bus.publish(t, &v))
                .unwrap()
                .unwrap();
        };
        for t in ["a.1", "a.2", "a.3"] {
            publish(t);
        }
        assert_eq!(sub.dropped(), 1);
        let short = Some(Duration::from_millis(20));
        let next = || sub.next_blocking(short, topic).unwrap();
        assert_eq!(next(), Next::Event("a.1".to_string()));
        assert_eq!(next(), Next::Event("a.2".to_string()));
        assert_eq!(next(), Next::TimedOut);
        sub.close();
        publish("a.4");
        assert_eq!(next(), Next::Closed);
        assert!(sub.is_closed());
    }

    #[test]
    fn close_wakes_a_next_waiting_on_another_thread() {
        let (_bus, sub) = shared();
        let waiter = sub.clone();
        let start = Instant::now();
        let t = std::thread::spawn(move || waiter.next_blocking(None, topic).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        sub.close();
        assert_eq!(t.join().unwrap(), Next::Closed);
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
