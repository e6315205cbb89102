//! Keepalive: a connection that has been silent for `interval` sends a PING (on `unix://` and
//! `ws://`, the frames of `docs/wire.md`; on `grpc://`, HTTP/2 PING); when nothing at all comes
//! back within `timeout`, the peer is taken for dead and the connection is failed, so its
//! calls end `UNAVAILABLE` (reason `KEEPALIVE_TIMEOUT`) and the client reconnects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Keepalive settings of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence after which a PING is sent.
    pub interval: Duration,
    /// How long to wait for any frame after a PING before the peer is taken for dead.
    pub timeout: Duration,
}

impl Keepalive {
    /// gRPC's default keepalive timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
}

/// When a connection last heard from its peer, in microseconds since a fixed origin; the
/// reader bumps it on every frame (one relaxed store).
#[derive(Debug)]
pub(crate) struct Heard {
    origin: Instant,
    last_us: AtomicU64,
}

impl Default for Heard {
    fn default() -> Heard {
        Heard {
            origin: Instant::now(),
            last_us: AtomicU64::new(0),
        }
    }
}

impl Heard {
    /// A frame arrived now.
    pub(crate) fn now(&self) {
        self.last_us.store(self.stamp(), Ordering::Relaxed);
    }

    fn stamp(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }

    /// Time since the peer was last heard.
    pub(crate) fn silence(&self) -> Duration {
        let last = Duration::from_micros(self.last_us.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }

    /// Whether the peer was heard at or after `stamp`.
    fn since(&self, stamp: u64) -> bool {
        self.last_us.load(Ordering::Relaxed) >= stamp
    }
}

/// Watches a connection: `ping` is called after `interval` of silence; `dead` (once) when
/// `timeout` more passes with nothing heard. Ends when `ping` returns false (connection gone).
pub(crate) async fn watch(
    ka: Keepalive,
    heard: std::sync::Arc<Heard>,
    mut ping: impl FnMut() -> bool,
    dead: impl FnOnce(),
) {
    loop {
        let silence = heard.silence();
        if silence < ka.interval {
            tokio::time::sleep(ka.interval - silence).await;
            continue;
        }
        let stamp = heard.stamp();
        let pinged = Instant::now();
        if !ping() {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(10).max(ka.timeout / 20)).await;
            if heard.since(stamp) {
                break;
            }
            if pinged.elapsed() >= ka.timeout {
                dead();
                return;
            }
        }
    }
}
