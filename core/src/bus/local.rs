//! The in-process bus: subscriptions in a process-local table, each with a bounded queue of
//! pending events. A publish hands each matching subscription (one per queue group) the same
//! bytes, without copying them; a subscription whose queue is full drops the event and counts it
//! (NATS's slow-consumer rule: a publisher never waits for a subscriber).
//!
//! A subscription's queue ([`queue`], also fed by the NATS subscription's task) is an unbounded
//! channel with a count: a publisher offers an event with one atomic add and one lock-free push,
//! and an event over the limit is dropped and counted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::mpsc;

use super::subject::matches;
use super::RawEvent;

/// One subscription's end of the table.
pub(crate) struct Entry {
    id: u64,
    pattern: String,
    queue: Option<String>,
    inbox: Inbox,
}

/// The subscriptions of one in-process bus.
#[derive(Default)]
pub(crate) struct Local {
    subs: RwLock<Vec<Entry>>,
    next_id: AtomicU64,
    /// Picks the member of a queue group that gets the next event.
    turn: AtomicUsize,
}

impl Local {
    /// Adds a subscription; returns its id (for [`remove`](Local::remove)).
    pub(crate) fn add(&self, pattern: &str, queue: Option<&str>, inbox: Inbox) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            id,
            pattern: pattern.to_string(),
            queue: queue.map(str::to_string),
            inbox,
        };
        self.subs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(entry);
        id
    }

    pub(crate) fn remove(&self, id: u64) {
        self.subs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|e| e.id != id);
    }

    /// Hands `event` to every matching subscription outside queue groups and to one member of
    /// each matching queue group. Returns how many took it.
    pub(crate) fn deliver(&self, event: RawEvent) -> usize {
        let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
        let mut taken = 0;
        let mut groups: Vec<(&str, Vec<&Entry>)> = Vec::new();
        for e in subs.iter().filter(|e| matches(&e.pattern, &event.topic)) {
            match &e.queue {
                None => taken += usize::from(e.inbox.offer(event.clone())),
                Some(q) => match groups.iter_mut().find(|(name, _)| name == q) {
                    Some((_, members)) => members.push(e),
                    None => groups.push((q, vec![e])),
                },
            }
        }
        for (_, members) in groups {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            taken += usize::from(members[turn % members.len()].inbox.offer(event.clone()));
        }
        taken
    }
}

pub(crate) struct Counts {
    pending: AtomicUsize,
    limit: usize,
    dropped: AtomicU64,
}

/// The publishers' end: a queue, or a handler run on the publisher's thread (in-process) or
/// the NATS subscription's task.
#[derive(Clone)]
pub(crate) enum Inbox {
    Queue {
        tx: mpsc::UnboundedSender<RawEvent>,
        counts: Arc<Counts>,
    },
    Handler(Arc<dyn Fn(RawEvent) + Send + Sync>),
}

/// The subscriber's end.
pub(crate) struct Outbox {
    rx: mpsc::UnboundedReceiver<RawEvent>,
    counts: Arc<Counts>,
    /// Events taken from the channel in one go (fewer wake-ups and atomic operations), in order.
    taken: std::collections::VecDeque<RawEvent>,
    batch: Vec<RawEvent>,
}

/// Most events an [`Outbox`] takes from its channel at once.
const TAKE: usize = 256;

/// A queue holding at most `limit` events (at least one).
pub(crate) fn queue(limit: usize) -> (Inbox, Outbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let counts = Arc::new(Counts {
        pending: AtomicUsize::new(0),
        limit: limit.max(1),
        dropped: AtomicU64::new(0),
    });
    (
        Inbox::Queue {
            tx,
            counts: counts.clone(),
        },
        Outbox {
            rx,
            counts,
            taken: std::collections::VecDeque::with_capacity(TAKE),
            batch: Vec::with_capacity(TAKE),
        },
    )
}

impl Inbox {
    /// Queues `event` (or runs the handler with it); false when the queue is full (the event
    /// is counted dropped) or gone.
    pub(crate) fn offer(&self, event: RawEvent) -> bool {
        let (tx, c) = match self {
            Inbox::Queue { tx, counts } => (tx, counts),
            Inbox::Handler(h) => {
                h(event);
                return true;
            }
        };
        if c.pending.fetch_add(1, Ordering::AcqRel) >= c.limit {
            c.pending.fetch_sub(1, Ordering::AcqRel);
            c.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if tx.send(event).is_err() {
            c.pending.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
}

impl Outbox {
    /// The next event; `None` once every publisher's end is gone.
    pub(crate) async fn recv(&mut self) -> Option<RawEvent> {
        if self.taken.is_empty() {
            let n = self.rx.recv_many(&mut self.batch, TAKE).await;
            self.counts.pending.fetch_sub(n, Ordering::AcqRel);
            self.taken.extend(self.batch.drain(..));
        }
        self.taken.pop_front()
    }

    /// Events waiting.
    pub(crate) fn len(&self) -> usize {
        self.counts.pending.load(Ordering::Acquire) + self.taken.len()
    }

    /// Events dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.counts.dropped()
    }

    /// The queue's counts (they outlive it).
    pub(crate) fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }
}

impl Counts {
    /// Events dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
