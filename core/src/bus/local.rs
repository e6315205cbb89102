//! The in-process bus: subscriptions in a process-local table, each with a bounded queue of
//! pending events. A publish hands each matching subscription (one per queue group) the same
//! bytes, without copying them; a subscription whose queue is full drops the event and counts it
//! (NATS's slow-consumer rule: a publisher never waits for a subscriber).

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
    tx: mpsc::Sender<RawEvent>,
    pub(crate) dropped: Arc<AtomicU64>,
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
    pub(crate) fn add(
        &self,
        pattern: &str,
        queue: Option<&str>,
        tx: mpsc::Sender<RawEvent>,
        dropped: Arc<AtomicU64>,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            id,
            pattern: pattern.to_string(),
            queue: queue.map(str::to_string),
            tx,
            dropped,
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
                None => taken += usize::from(offer(e, event.clone())),
                Some(q) => match groups.iter_mut().find(|(name, _)| name == q) {
                    Some((_, members)) => members.push(e),
                    None => groups.push((q, vec![e])),
                },
            }
        }
        for (_, members) in groups {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            taken += usize::from(offer(members[turn % members.len()], event.clone()));
        }
        taken
    }
}

/// Queues `event` for `e`, or counts it dropped when the queue is full.
fn offer(e: &Entry, event: RawEvent) -> bool {
    match e.tx.try_send(event) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            e.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
        // The subscription is being dropped.
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}
