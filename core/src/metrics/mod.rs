//! Call metrics, always on and cheap: per method, transport and side (server, client) the calls
//! started, in flight, finished by status code with their latency, refused before their
//! handler, and the sizes of requests and replies. Recording is relaxed atomic adds on
//! counters found once per method (when a route is registered or a client connects), so the
//! call path takes no lock and allocates nothing. [`prometheus`] renders them as Prometheus
//! text, named after the gRPC OpenTelemetry metrics of gRFC A66 where they overlap, and [`otlp`]
//! as the OTLP messages the exporter sends.
//!
//! A base module: the server, the client and the admin listener use it.

pub mod connections;
mod histogram;
pub mod otlp;
pub mod prometheus;
pub mod recent;
pub mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

pub use histogram::{Histogram, Snapshot, LATENCY_BOUNDS_MICROS, SIZE_BOUNDS};

use crate::code::Code;

/// The transports metrics are kept for, by index; anything else counts as the last.
pub const TRANSPORTS: [&str; 11] = [
    "inproc",
    "unix",
    "shm",
    "grpc",
    "grpc+unix",
    "http",
    "ws",
    "grpcs",
    "https",
    "wss",
    "other",
];

/// The number of status codes.
pub const CODES: usize = 17;

pub(crate) fn transport_index(transport: &str) -> usize {
    match transport {
        "inproc" => 0,
        "unix" => 1,
        "shm" => 2,
        "grpc" => 3,
        "grpc+unix" => 4,
        "http" => 5,
        "ws" => 6,
        "grpcs" => 7,
        "https" => 8,
        "wss" => 9,
        _ => TRANSPORTS.len() - 1,
    }
}

/// The hash of the per-method tables looked up on every call: FxHash's multiply-rotate over
/// eight bytes at a time (method names are short and not chosen by an attacker who could
/// exploit collisions: only registered names are stored): a fraction of SipHash's cost, and an
/// eighth of the steps of the byte-at-a-time FNV it replaced.
#[derive(Debug, Clone, Copy, Default)]
pub struct WordHash(u64);

impl WordHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().unwrap_or_default()));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
}

/// [`WordHash`] as a map's hasher: for the tables looked up on every call (methods, routes,
/// message tables, calls by stream id), whose keys are registered names or ids a bounded table
/// holds, so colliding keys cannot make a table grow.
pub type Fast = std::hash::BuildHasherDefault<WordHash>;

/// A map hashed with [`WordHash`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, Fast>;

/// A table of each method's metrics, looked up by name on every call.
pub type ByMethod = FastMap<String, Arc<MethodMetrics>>;

/// The metrics of one method on one transport, one side.
#[derive(Debug)]
pub struct Side {
    started: AtomicU64,
    inflight: AtomicI64,
    rejected: [AtomicU64; CODES],
    duration: [OnceLock<Box<Histogram>>; CODES],
    sent: OnceLock<Box<Histogram>>,
    received: OnceLock<Box<Histogram>>,
}

impl Side {
    fn new() -> Side {
        Side {
            started: AtomicU64::new(0),
            inflight: AtomicI64::new(0),
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
            duration: std::array::from_fn(|_| OnceLock::new()),
            sent: OnceLock::new(),
            received: OnceLock::new(),
        }
    }

    /// A call starts.
    pub fn start(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.inflight.fetch_add(1, Ordering::Relaxed);
    }

    /// A started call ends with `code` after `elapsed`.
    pub fn finish(&self, code: Code, elapsed: Duration) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        self.latency(code, elapsed);
    }

    /// An attempt starts: counted, with no in-flight gauge (nothing shows one for attempts).
    pub fn attempt_started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt ends with `code` after `elapsed`.
    pub fn attempt_finished(&self, code: Code, elapsed: Duration) {
        self.latency(code, elapsed);
    }

    fn latency(&self, code: Code, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.duration[code as usize]
            .get_or_init(|| Box::new(Histogram::new(LATENCY_BOUNDS_MICROS)))
            .record(micros);
    }

    /// A call was refused before its handler ran (limits, shutdown, an interceptor's policy).
    pub fn reject(&self, code: Code) {
        self.rejected[code as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The sizes of a unary call's request (`received` on a server, `sent` on a client) and
    /// reply, in bytes as encoded.
    pub fn sizes(&self, sent: usize, received: usize) {
        let size = |h: &OnceLock<Box<Histogram>>, n: usize| {
            h.get_or_init(|| Box::new(Histogram::new(SIZE_BOUNDS)))
                .record(n as u64)
        };
        size(&self.sent, sent);
        size(&self.received, received);
    }

    /// Calls started so far.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Calls in flight now.
    pub fn inflight(&self) -> i64 {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Calls finished with `code` so far.
    pub fn finished(&self, code: Code) -> u64 {
        self.duration[code as usize].get().map_or(0, |h| h.count())
    }

    /// Calls refused with `code` so far.
    pub fn rejected(&self, code: Code) -> u64 {
        self.rejected[code as usize].load(Ordering::Relaxed)
    }
}

/// Whose metrics: the server's calls, the clients' calls (retries included), or each attempt
/// of those calls (gRFC A66's `grpc.client.attempt.*`: a retry, a hedge, a transparent retry
/// of a call that never left are attempts of one call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Calls served.
    Server,
    /// Calls made.
    Client,
    /// Attempts of calls made.
    Attempt,
}

/// The metrics of one method: a [`Side`] per transport for the server, the client and the
/// client's attempts, made on first use.
#[derive(Debug)]
pub struct MethodMetrics {
    name: String,
    server: [OnceLock<Box<Side>>; TRANSPORTS.len()],
    client: [OnceLock<Box<Side>>; TRANSPORTS.len()],
    attempt: [OnceLock<Box<Side>>; TRANSPORTS.len()],
}

impl MethodMetrics {
    /// The method's name (`package.Service/Method`, or `other`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The server side of calls on `transport`.
    pub fn server(&self, transport: &str) -> &Side {
        self.server[transport_index(transport)].get_or_init(|| Box::new(Side::new()))
    }
    /// The client side of calls on `transport`.
    pub fn client(&self, transport: &str) -> &Side {
        self.client[transport_index(transport)].get_or_init(|| Box::new(Side::new()))
    }
    /// The attempts of calls on `transport` (their sizes: what each attempt sent and got).
    pub fn attempt(&self, transport: &str) -> &Side {
        self.attempt[transport_index(transport)].get_or_init(|| Box::new(Side::new()))
    }
    fn sides(&self, role: Role) -> impl Iterator<Item = (&'static str, &Side)> + '_ {
        let sides = match role {
            Role::Server => &self.server,
            Role::Client => &self.client,
            Role::Attempt => &self.attempt,
        };
        TRANSPORTS
            .iter()
            .zip(sides.iter())
            .filter_map(|(t, s)| s.get().map(|s| (*t, &**s)))
    }
}

static REGISTRY: RwLock<BTreeMap<String, Arc<MethodMetrics>>> = RwLock::new(BTreeMap::new());

/// The metrics of `method`, process-wide (made on first use; keep the `Arc`: looking it up
/// takes a lock).
pub fn method(method: &str) -> Arc<MethodMetrics> {
    if let Some(m) = REGISTRY
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(method)
    {
        return m.clone();
    }
    let mut all = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    all.entry(method.to_string())
        .or_insert_with(|| {
            Arc::new(MethodMetrics {
                name: method.to_string(),
                server: std::array::from_fn(|_| OnceLock::new()),
                client: std::array::from_fn(|_| OnceLock::new()),
                attempt: std::array::from_fn(|_| OnceLock::new()),
            })
        })
        .clone()
}

/// The metrics of calls to methods a server does not serve (gRFC A66's `other`).
pub fn other() -> &'static Arc<MethodMetrics> {
    static OTHER: OnceLock<Arc<MethodMetrics>> = OnceLock::new();
    OTHER.get_or_init(|| method("other"))
}

/// Every method with metrics, by name.
pub fn all() -> Vec<Arc<MethodMetrics>> {
    let all = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    all.values().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transport_has_its_own_index_and_the_rest_share_the_last() {
        for (i, t) in TRANSPORTS.iter().enumerate() {
            assert_eq!(transport_index(t), i);
        }
        assert_eq!(transport_index("carrier-pigeon"), TRANSPORTS.len() - 1);
    }
}
