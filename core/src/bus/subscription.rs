//! A subscription: its queue of pending events, read raw or decoded and checked against the
//! type the subscriber declared for each event's topic.

use std::sync::Arc;
use std::time::Duration;

use super::local::Outbox;
use super::{Bus, RawEvent};
use crate::error::Result;
use crate::runtime::AbortOnDrop;
use crate::value::Value;

/// A decoded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The topic it was published on.
    pub topic: Arc<str>,
    /// The message type (the subscriber's declared type of the topic).
    pub message_type: Arc<str>,
    /// The message.
    pub message: Value,
}

/// What unsubscribes when the subscription is dropped.
pub(super) enum End {
    Local(Bus, u64),
    Remote(#[allow(dead_code)] AbortOnDrop<()>),
}

/// A subscription to a topic pattern. Dropping it unsubscribes.
pub struct Subscription {
    pub(super) bus: Bus,
    pub(super) rx: Outbox,
    end: End,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("pending", &self.rx.len())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let End::Local(bus, id) = &self.end {
            bus.unsubscribe_local(*id);
        }
    }
}

impl Subscription {
    pub(super) fn new(bus: Bus, rx: Outbox, end: End) -> Subscription {
        Subscription { bus, rx, end }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.rx.dropped()
    }

    /// The next event as it came, undecoded; `None` once the bus is gone.
    pub async fn next_raw(&mut self) -> Option<RawEvent> {
        self.rx.recv().await
    }

    /// The next event, decoded and checked; `None` once the bus is gone. An event that fails
    /// the check is its own `Err` (the subscription goes on): `NotFound` **UNDECLARED_TOPIC**,
    /// `InvalidArgument` **WRONG_MESSAGE_TYPE** (the publisher named another type), or the
    /// decoding's `InvalidArgument` / `ResourceExhausted`.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        let raw = self.rx.recv().await?;
        Some(self.decode(raw))
    }

    /// [`next`](Subscription::next) from synchronous code, waiting at most `timeout`
    /// (`None` when it passes, or when the bus is gone).
    pub fn next_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<Event>> {
        let wait = async {
            match timeout {
                Some(t) => tokio::time::timeout(t, self.rx.recv()).await.ok().flatten(),
                None => self.rx.recv().await,
            }
        };
        match crate::runtime::block_on(wait)? {
            Some(raw) => self.decode(raw).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes and checks `raw` against the subscriber's declared type of its topic.
    pub fn decode(&self, raw: RawEvent) -> Result<Event> {
        self.bus.decode_event(raw)
    }

    /// The queue's counts, which outlive the subscription (a shared subscription's `dropped`).
    pub(super) fn counts(&self) -> Arc<super::local::Counts> {
        self.rx.counts()
    }

    /// The bus it is on.
    pub(super) fn bus(&self) -> &Bus {
        &self.bus
    }
}
