//! What the monitoring page shows besides the counters: the last calls refused before their
//! handler ran (limits, shutdown, an interceptor's policy, a method not served) and the peers
//! that called lately, process-wide like the rest of [`metrics`](super).
//!
//! Refusals are the slow path already, and are kept under a lock. A peer is noted on each call
//! with a `try_lock` only: a call that finds the table busy skips the note (the table is a view
//! for people, not an account), so the call path never waits on it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::code::Code;

/// How many refused calls are kept, the newest first.
pub const REFUSALS_KEPT: usize = 32;

/// How many peers are kept; past that, the one seen longest ago makes room.
pub const PEERS_KEPT: usize = 128;

/// A call refused before its handler ran.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// `package.Service/Method` as the caller named it.
    pub method: String,
    /// The transport it came by.
    pub transport: String,
    /// The caller's address.
    pub peer: String,
    /// The status code's name (`RESOURCE_EXHAUSTED`).
    pub code: String,
    /// The status message.
    pub message: String,
}

/// A peer that called lately.
#[derive(Debug, Clone, Serialize)]
pub struct PeerSeen {
    /// The transport it calls by.
    pub transport: String,
    /// Its address (a unix socket's peer is its process: `pid:…`, or the socket's path).
    pub address: String,
    /// Its identity (`uid:…`, a certificate's name), when known.
    pub identity: Option<String>,
    /// Calls noted from it.
    pub calls: u64,
    /// When it was last seen, in milliseconds since the Unix epoch.
    pub last_ms: u64,
}

static REFUSALS: Mutex<VecDeque<Refusal>> = Mutex::new(VecDeque::new());
/// Peers by transport, then by address (looked up with no allocation).
type Peers = HashMap<&'static str, HashMap<String, PeerSeen, Fast>, Fast>;
use super::Fast;
static PEERS: Mutex<Option<Peers>> = Mutex::new(None);

pub(super) fn now_ms() -> u64 {
    u64::try_from(crate::value::time::now_unix_ms()).unwrap_or(0)
}

/// Notes a refused call.
pub fn refused(method: &str, transport: &str, peer: &str, code: Code, message: &str) {
    let r = Refusal {
        at_ms: now_ms(),
        method: method.to_string(),
        transport: transport.to_string(),
        peer: peer.to_string(),
        code: code.name().to_string(),
        message: message.chars().take(300).collect(),
    };
    let mut all = REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
    if all.len() == REFUSALS_KEPT {
        all.pop_back();
    }
    all.push_front(r);
}

/// The last refused calls, the newest first.
pub fn refusals() -> Vec<Refusal> {
    let all = REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
    all.iter().cloned().collect()
}

/// Notes a call from a peer, unless another call is noting one right now.
pub fn seen(transport: &'static str, address: &str, identity: impl FnOnce() -> Option<String>) {
    let Ok(mut guard) = PEERS.try_lock() else {
        return;
    };
    let table = guard.get_or_insert_with(HashMap::default);
    let now = now_ms();
    if let Some(p) = table.get_mut(transport).and_then(|t| t.get_mut(address)) {
        p.calls += 1;
        p.last_ms = now;
        return;
    }
    if table.values().map(HashMap::len).sum::<usize>() >= PEERS_KEPT {
        let oldest = table
            .iter()
            .flat_map(|(t, by)| by.values().map(move |p| (*t, p)))
            .min_by_key(|(_, p)| p.last_ms)
            .map(|(t, p)| (t, p.address.clone()));
        if let Some((t, a)) = oldest {
            table.entry(t).or_default().remove(&a);
        }
    }
    let seen = PeerSeen {
        transport: transport.to_string(),
        address: address.to_string(),
        identity: identity(),
        calls: 1,
        last_ms: now,
    };
    table
        .entry(transport)
        .or_default()
        .insert(address.to_string(), seen);
}

/// The peers seen lately, the most recent first.
pub fn peers() -> Vec<PeerSeen> {
    let guard = PEERS.lock().unwrap_or_else(|e| e.into_inner());
    let mut all: Vec<PeerSeen> = guard
        .iter()
        .flat_map(|t| t.values().flat_map(|by| by.values().cloned()))
        .collect();
    all.sort_by_key(|p| std::cmp::Reverse(p.last_ms));
    all
}
