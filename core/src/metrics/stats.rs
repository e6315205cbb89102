//! The metrics as one JSON document, for the admin listener's live monitoring page
//! (`GET /api/stats`) and anything else that polls: every method's rows by side and transport
//! (calls started, in flight, finished and refused by status code, the latency histogram with
//! its p50/p99), the recent refusals and peers, the connections by transport, the server's
//! endpoints and state.
//!
//! Counts are totals since the process started; a poller gets rates (calls per second, the
//! latency of the last interval) from the difference of two documents, as the page does.

use std::collections::BTreeMap;

use serde::Serialize;

use super::recent::{self, PeerSeen, Refusal};
use super::{all, Role, Side, CODES, LATENCY_BOUNDS_MICROS};
use crate::code::Code;

/// One method on one side and transport.
#[derive(Debug, Serialize)]
pub struct Row {
    /// `package.Service/Method` (`other`: calls to methods not served).
    pub method: String,
    /// `server` or `client`.
    pub side: &'static str,
    /// The transport.
    pub transport: &'static str,
    /// Calls started.
    pub started: u64,
    /// Calls in flight now.
    pub inflight: i64,
    /// Calls finished, by status code name (codes with none left out).
    pub finished: BTreeMap<&'static str, u64>,
    /// Calls refused before their handler, by status code name.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Finished calls with a latency of at most each of [`LATENCY_BOUNDS_MICROS`] (cumulative,
    /// every code together); the last entry counts them all.
    pub latency_cumulative: Vec<u64>,
    /// The median latency in microseconds (the upper bound of its bucket), if any call finished.
    pub p50_us: Option<u64>,
    /// The 99th percentile, likewise.
    pub p99_us: Option<u64>,
}

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Stats<'a> {
    /// When it was taken, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// False once the server began a shutdown.
    pub serving: bool,
    /// The server's endpoints.
    pub endpoints: &'a [String],
    /// The latency buckets' upper bounds in microseconds (`latency_cumulative` has one more).
    pub latency_bounds_us: &'static [u64],
    /// Every method with calls, by name, then side and transport.
    pub methods: Vec<Row>,
    /// The last refused calls, the newest first.
    pub refusals: Vec<Refusal>,
    /// The peers seen lately, the most recent first.
    pub peers: Vec<PeerSeen>,
    /// The server connections by transport (open now, accepted so far).
    pub connections: Vec<super::connections::Connections>,
}

/// The upper bound of the bucket holding quantile `q` of `cumulative` (the last bound for the
/// overflow bucket); `None` when there are no observations.
pub fn quantile(bounds: &[u64], cumulative: &[u64], q: f64) -> Option<u64> {
    let total = *cumulative.last()?;
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let i = cumulative.iter().position(|&c| c >= rank)?;
    bounds.get(i).or(bounds.last()).copied()
}

fn row(method: &str, side: &'static str, transport: &'static str, s: &Side) -> Row {
    let mut finished = BTreeMap::new();
    let mut rejected = BTreeMap::new();
    let mut latency = vec![0u64; LATENCY_BOUNDS_MICROS.len() + 1];
    for i in 0..CODES {
        let code = Code::from_i32(i as i32);
        if let Some(h) = s.duration[i].get() {
            let snap = h.snapshot();
            finished.insert(code.name(), snap.count);
            for (sum, (_, c)) in latency.iter_mut().zip(snap.cumulative) {
                *sum += c;
            }
        }
        let n = s.rejected(code);
        if n > 0 {
            rejected.insert(code.name(), n);
        }
    }
    Row {
        method: method.to_string(),
        side,
        transport,
        started: s.started(),
        inflight: s.inflight(),
        finished,
        rejected,
        p50_us: quantile(LATENCY_BOUNDS_MICROS, &latency, 0.5),
        p99_us: quantile(LATENCY_BOUNDS_MICROS, &latency, 0.99),
        latency_cumulative: latency,
    }
}

/// The document now, for a server listening on `endpoints`.
pub fn json(endpoints: &[String], serving: bool) -> String {
    let mut methods = Vec::new();
    for m in all() {
        for (role, side) in [(Role::Server, "server"), (Role::Client, "client")] {
            for (transport, s) in m.sides(role) {
                methods.push(row(m.name(), side, transport, s));
            }
        }
    }
    let stats = Stats {
        now_ms: recent::now_ms(),
        serving,
        endpoints,
        latency_bounds_us: LATENCY_BOUNDS_MICROS,
        methods,
        refusals: recent::refusals(),
        peers: recent::peers(),
        connections: super::connections::all(),
    };
    serde_json::to_string(&stats).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn a_quantile_is_the_upper_bound_of_the_bucket_that_holds_it() {
        let bounds = [10, 100, 1000];
        assert_eq!(quantile(&bounds, &[0, 0, 0, 0], 0.5), None);
        assert_eq!(quantile(&bounds, &[5, 9, 10, 10], 0.5), Some(10));
        assert_eq!(quantile(&bounds, &[5, 9, 10, 10], 0.99), Some(1000));
        assert_eq!(quantile(&bounds, &[0, 0, 0, 4], 0.5), Some(1000));
        assert_eq!(quantile(&bounds, &[1, 1, 1, 100], 0.01), Some(10));
    }
}
