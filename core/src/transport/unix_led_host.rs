//! The host of a server's connections: the one thread that runs every handler of a server whose
//! calls wait on a queue (Ruby's GVL thread, PHP's request thread, in
//! [`CallQueue::next`](crate::server::CallQueue::next)) reads the server's `unix://` connections
//! itself while it waits for its next call. A local call then reaches its handler with the
//! kernel's wake-up only, as in a raw socket echo: no `hms-ffi-conn` thread reads the call and
//! hands it over to the serving thread through the queue.
//!
//! The readings are the connections' own ([`Reading`]), passed between threads as the
//! leader/follower scheme of [`super`] passes them. While the host thread runs a handler, the
//! readings it held are let go like any other, so after [`HAND_OVER`](super::HAND_OVER) the
//! watchdog starts a connection thread for each: CANCEL frames, calls from other connections and
//! a dead peer are still seen. Such a thread gives its reading back as soon as the host waits
//! again (the host wakes it through the connection's wake pipe).

use std::cell::Cell;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::read::{Got, Wait};
use super::{Led, Reading, Served};
use crate::call::JustWait;
use crate::transport::wait::{drain, lock, sys::poll_slice, SpinGauge};

thread_local! {
    /// This thread is a host's, polling: what it queues needs no wake-up.
    static HOSTING: Cell<bool> = const { Cell::new(false) };
}

/// For this crate's tests (`server/host_tests.rs`): frames served by a host's thread.
#[cfg(test)]
pub(crate) static HOSTED_FRAMES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// The connections one serving thread reads while it waits (see the module docs).
pub(crate) struct Host {
    /// The connections to read, until they end. Held strongly: a reading let go for the host
    /// has no thread keeping its connection alive.
    leds: Mutex<Vec<Arc<Led>>>,
    /// A byte written to `.1` makes `.0` readable: a call queued by another thread, or a
    /// reading given back.
    wake: (UnixStream, UnixStream),
    /// A thread reads the connections now (one at a time).
    busy: AtomicBool,
    /// That thread waits for calls (not only looks): the connections' threads give it their
    /// readings, and a call queued elsewhere wakes it.
    polling: AtomicBool,
    /// How soon the next call usually comes: the thread polls the sockets that long before it
    /// blocks, when that is soon (as a connection's own thread does).
    gauge: SpinGauge,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("connections", &lock(&self.leds).len())
            .field("polling", &self.polling())
            .finish()
    }
}

/// Ends a host's polling when dropped (also when a handler panics through it).
struct Polling<'a>(&'a Host);

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        HOSTING.with(|h| h.set(false));
        self.0.polling.store(false, Ordering::SeqCst);
        self.0.busy.store(false, Ordering::SeqCst);
    }
}

impl Host {
    /// A host with no connection yet.
    pub(crate) fn new() -> std::io::Result<Host> {
        let wake = UnixStream::pair()?;
        wake.0.set_nonblocking(true)?;
        wake.1.set_nonblocking(true)?;
        Ok(Host {
            leds: Mutex::new(Vec::new()),
            wake,
            busy: AtomicBool::new(false),
            polling: AtomicBool::new(false),
            gauge: SpinGauge::default(),
        })
    }

    pub(super) fn attach(&self, led: &Arc<Led>) {
        let mut leds = lock(&self.leds);
        leds.retain(|l| !l.ended.is_cancelled());
        leds.push(led.clone());
    }

    pub(super) fn detach(&self, led: &Led) {
        lock(&self.leds).retain(|l| !std::ptr::eq(Arc::as_ptr(l), led));
    }

    /// Whether the host's thread is waiting for a call, reading its connections.
    pub(super) fn polling(&self) -> bool {
        self.polling.load(Ordering::SeqCst)
    }

    /// Whether some connection is the host's to read.
    pub(crate) fn hosting(&self) -> bool {
        !lock(&self.leds).is_empty()
    }

    /// Wakes the host's thread if it is waiting (a call was queued, a reading given back).
    pub(crate) fn poke(&self) {
        if self.polling() && !HOSTING.with(Cell::get) {
            let _ = (&self.wake.1).write(&[1]);
        }
    }

    /// Reads the connections on this thread for up to `timeout`, serving what they send, until
    /// `ready` (a call for this thread was queued). False when there is nothing to read or
    /// another thread reads them already: the caller waits its own way. Without `block`, it
    /// only polls them, for as long as calls lately came that soon (else not at all).
    pub(crate) fn serve(&self, timeout: Duration, ready: &dyn Fn() -> bool, block: bool) -> bool {
        let start = Instant::now();
        let spin_until = self.gauge.until(start, &JustWait).min(start + timeout);
        // Looking without polling would take the readings and let them go again, each time
        // as if just let go: the watchdog would never hand them over, and nobody read them.
        if !block && spin_until <= start {
            return false;
        }
        if !self.hosting() || self.busy.swap(true, Ordering::SeqCst) {
            return false;
        }
        let _polling = Polling(self);
        // Only a thread that will wait asks the connections' threads for their readings: one
        // that only looks (a zero timeout, a spin) would leave them to the watchdog.
        let waits = block && !timeout.is_zero();
        self.polling.store(waits, Ordering::SeqCst);
        HOSTING.with(|h| h.set(true));
        crate::runtime::guard_thread();
        let _enter = crate::runtime::handle().enter();
        let deadline = if block { start + timeout } else { spin_until };
        // A zero timeout still polls once: what is there is read.
        let (mut came, mut polled) = (false, false);
        let mut hand: Vec<(Arc<Led>, Reading)> = Vec::new();
        let (mut fds, mut readable) = (Vec::new(), Vec::new());
        let mut asked = !waits;
        loop {
            if ready() {
                break;
            }
            self.gather(&mut hand, !asked);
            asked = true;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() && polled {
                break;
            }
            // Each connection's socket and its wake pipe (poked on drain and stop), then ours.
            fds.clear();
            for (led, _) in &hand {
                fds.extend(led.source.fd());
                fds.push(led.wake.0.as_raw_fd());
            }
            fds.push(self.wake.0.as_raw_fd());
            let ms = if left.is_zero() {
                0
            } else if Instant::now() < spin_until {
                std::hint::spin_loop();
                0
            } else {
                i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX)
            };
            if let Err(e) = poll_slice(&fds, &mut readable, ms) {
                tracing::error!(error = %e, "poll of the served connections");
                break;
            }
            polled = true;
            if readable.last() == Some(&true) {
                drain(&self.wake.0);
            }
            // One connection a round: serving it may let go of the others (a handler that
            // runs here), so the indices hold only until then. A poked connection is read
            // too: that sends a draining server's GOAWAY, or ends it when the server stopped.
            let pairs = readable[..2 * hand.len()].chunks(2);
            if let Some(i) = pairs.map(|p| p[0] || p[1]).position(|r| r) {
                if readable[2 * i + 1] {
                    drain(&hand[i].0.wake.0);
                }
                if !came {
                    came = true;
                    self.gauge.record(start.elapsed());
                }
                let (led, reading) = hand.swap_remove(i);
                if let Some(reading) = read_frames(&led, reading, &mut hand) {
                    hand.push((led, reading));
                }
            }
        }
        if !came && block {
            // A long wait: the next ones should not poll.
            self.gauge.record(start.elapsed());
        }
        for (led, reading) in hand {
            led.let_go(reading);
        }
        true
    }

    /// Takes the readings let go since the last round; with `ask`, wakes the threads that lead
    /// the others so that they give theirs.
    fn gather(&self, hand: &mut Vec<(Arc<Led>, Reading)>, ask: bool) {
        let leds: Vec<Arc<Led>> = lock(&self.leds).clone();
        for led in leds {
            if led.ended.is_cancelled() {
                self.detach(&led);
                continue;
            }
            if hand.iter().any(|(l, _)| Arc::ptr_eq(l, &led)) {
                continue;
            }
            match led.take_back() {
                Some(reading) => hand.push((led, reading)),
                None if ask => {
                    let _ = (&led.wake.1).write(&[1]);
                }
                None => {}
            }
        }
    }
}

/// Serves the frames that are there on `led`; the reading back, unless the connection ended or
/// another thread took it over while a handler ran here.
fn read_frames(
    led: &Arc<Led>,
    mut reading: Reading,
    hand: &mut Vec<(Arc<Led>, Reading)>,
) -> Option<Reading> {
    loop {
        let (h, body) = match led.next(&mut reading, Wait::Not) {
            Ok(Got::Ready(frame)) => frame,
            Ok(Got::NotYet | Got::Yield) => return Some(reading),
            Ok(Got::End) => {
                led.close(None);
                return None;
            }
            Err(reason) => {
                led.close(Some(reason));
                return None;
            }
        };
        #[cfg(test)]
        HOSTED_FRAMES.fetch_add(1, Ordering::SeqCst);
        let mut let_go_all = || {
            for (other, r) in hand.drain(..) {
                other.let_go(r);
            }
        };
        match led.serve_frame(h, body, reading, &mut let_go_all) {
            Served::Keep(r) => reading = r,
            Served::Led | Served::Closed => return None,
        }
    }
}
