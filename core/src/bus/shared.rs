//! What a language binding needs of the bus beyond [`Bus::publish`] and [`Subscription`]: a
//! publish from the binding's own objects ([`Bus::encode_input`], the same walk and converters
//! a call's request takes), and a [`SharedSubscription`] that any thread may wait on while
//! another closes it. Closing ends a `next` in progress (it returns `None`) and unsubscribes;
//! an event that fails its checks is an error for that event only, as with [`Subscription`].
//!
//! ```
//! use hms_ffi_core::{bus::{Bus, SharedSubscription}, Schema, Value};
//! # hms_ffi_core::runtime::block_on(async {
//! let schema = Schema::from_source("ev.proto", r#"
//!     syntax = "proto3"; package shop.v1;
//!     message OrderPlaced { string id = 1; }
//! "#)?;
//! let bus = Bus::new(schema);
//! bus.declare("orders.*", "shop.v1.OrderPlaced")?;
//! let sub = SharedSubscription::new(bus.subscribe("orders.*", None).await?);
//! let bytes = bus.encode_input("orders.eu", &&Value::message([("id", Value::from("A1"))]), None);
//! bus.publish_encoded("orders.eu", bytes.unwrap()?).await?;
//! let raw = sub.next_raw().await.expect("an event");
//! assert_eq!(sub.decode(raw)?.message.get("id"), Some(&Value::from("A1")));
//! sub.close();
//! assert!(sub.next_raw().await.is_none());
//! # Ok::<(), hms_ffi_core::Error>(()) }).unwrap().unwrap();
//! ```

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::local::Counts;
use super::{Bus, Event, RawEvent, Subscription};
use crate::error::Result;
use crate::exchange::NativeResult;
use crate::mapping::{Converters, DecodeOptions, Input, Output};

impl Bus {
    /// A binding's own objects ([`Input`]) encoded as `topic`'s declared type, through
    /// `converters` when given, and checked against the size limit: what
    /// [`publish_encoded`](Bus::publish_encoded) then sends. A bad topic is `InvalidArgument`
    /// **BAD_TOPIC**, an undeclared one `NotFound` **UNDECLARED_TOPIC**, a wrong field
    /// `InvalidArgument` with its path. The outer error is the binding's conversion failing.
    pub fn encode_input<I: Input>(
        &self,
        topic: &str,
        input: &I,
        converters: Option<&Converters>,
    ) -> NativeResult<Bytes, I::Error> {
        let desc = match crate::topic::check_topic(topic).and_then(|()| self.type_of(topic)) {
            Ok((desc, _)) => desc,
            Err(e) => return Ok(Err(e)),
        };
        let limits = &self.inner.limits;
        let bytes = crate::codec::Codec::Proto.encode_converted(
            Some(&desc),
            input,
            limits.max_depth,
            converters,
        )?;
        Ok(bytes.and_then(|b| {
            limits.check_message(b.len(), "event")?;
            Ok(Bytes::from(b))
        }))
    }
}

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

/// A [`Subscription`] that threads share: `next` from any of them (one waits at a time, the
/// others queue behind it), [`close`](SharedSubscription::close) from any other, which ends a
/// wait in progress at once. For bindings whose subscription object the host language may use
/// from several threads, or close while an iteration waits.
pub struct SharedSubscription {
    bus: Bus,
    sub: tokio::sync::Mutex<Option<Subscription>>,
    counts: Arc<Counts>,
    closed: CancellationToken,
}

impl std::fmt::Debug for SharedSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSubscription")
            .field("dropped", &self.dropped())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SharedSubscription {
    /// Shares `sub`.
    pub fn new(sub: Subscription) -> SharedSubscription {
        SharedSubscription {
            bus: sub.bus().clone(),
            counts: sub.counts(),
            sub: tokio::sync::Mutex::new(Some(sub)),
            closed: CancellationToken::new(),
        }
    }

    /// The next event as it came, undecoded; `None` once closed (or the bus is gone).
    pub async fn next_raw(&self) -> Option<RawEvent> {
        let mut guard = tokio::select! {
            biased;
            _ = self.closed.cancelled() => return None,
            g = self.sub.lock() => g,
        };
        let next = match guard.as_mut() {
            Some(sub) => tokio::select! {
                biased;
                _ = self.closed.cancelled() => None,
                next = sub.next_raw() => next,
            },
            None => None,
        };
        if self.closed.is_cancelled() {
            // Closed while this waited holding the subscription: unsubscribe here.
            guard.take();
        }
        next
    }

    /// [`next_raw`](SharedSubscription::next_raw) from synchronous code, waiting at most
    /// `timeout`, or until `stop` is cancelled (a host's interrupt): `None` then too.
    pub fn next_raw_blocking(
        &self,
        timeout: Option<Duration>,
        stop: Option<&CancellationToken>,
    ) -> Result<Option<RawEvent>> {
        let never = CancellationToken::new();
        let stop = stop.unwrap_or(&never);
        crate::runtime::block_on(async {
            tokio::select! {
                _ = stop.cancelled() => None,
                next = self.next_raw_within(timeout) => next,
            }
        })
    }

    /// [`next_raw`](SharedSubscription::next_raw) waiting at most `timeout` (`None` when it
    /// passes).
    pub async fn next_raw_within(&self, timeout: Option<Duration>) -> Option<RawEvent> {
        match timeout {
            Some(t) => tokio::time::timeout(t, self.next_raw())
                .await
                .ok()
                .flatten(),
            None => self.next_raw().await,
        }
    }

    /// The next event decoded; `None` once closed. An event that fails its checks is its own
    /// `Err` (see [`Subscription::next`]).
    pub async fn next(&self) -> Option<Result<Event>> {
        let raw = self.next_raw().await?;
        Some(self.decode(raw))
    }

    /// Decodes and checks `raw` against the subscriber's declared type of its topic.
    pub fn decode(&self, raw: RawEvent) -> Result<Event> {
        self.bus.decode_event(raw)
    }

    /// `raw`'s message made into a binding's objects by `out` (through `converters` when
    /// given), once it passed the checks of [`Subscription::decode`].
    pub fn decode_output<O: Output>(
        &self,
        raw: &RawEvent,
        options: DecodeOptions,
        converters: Option<&Converters>,
        out: &mut O,
    ) -> NativeResult<O::Node, O::Error> {
        self.bus.decode_event_output(raw, options, converters, out)
    }

    /// Waits at most `timeout` (`None`: until an event comes or it is closed) for the next
    /// event and hands it to `take` (which decodes it: [`decode`](SharedSubscription::decode)
    /// or [`decode_output`](SharedSubscription::decode_output)); tells a timeout from a close.
    pub async fn next_with<T>(
        &self,
        timeout: Option<Duration>,
        take: impl FnOnce(&SharedSubscription, RawEvent) -> T,
    ) -> Next<T> {
        match self.next_raw_within(timeout).await {
            Some(raw) => Next::Event(take(self, raw)),
            None if self.is_closed() => Next::Closed,
            None if timeout.is_some() => Next::TimedOut,
            None => Next::Closed,
        }
    }

    /// [`next_with`](SharedSubscription::next_with) from synchronous code, on the calling
    /// thread (`FailedPrecondition` inside a current-thread tokio runtime).
    pub fn next_blocking<T>(
        &self,
        timeout: Option<Duration>,
        take: impl FnOnce(&SharedSubscription, RawEvent) -> T,
    ) -> Result<Next<T>> {
        crate::runtime::block_on(self.next_with(timeout, take))
    }

    /// Events dropped because the subscription's queue was full (kept after `close`).
    pub fn dropped(&self) -> u64 {
        self.counts.dropped()
    }

    /// Unsubscribes; a `next` waiting returns `None`, and so does every later one. Closing
    /// twice is harmless.
    pub fn close(&self) {
        self.closed.cancel();
        if let Ok(mut guard) = self.sub.try_lock() {
            guard.take();
        }
    }

    /// Whether [`close`](SharedSubscription::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
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

    fn topic(s: &SharedSubscription, raw: RawEvent) -> String {
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
