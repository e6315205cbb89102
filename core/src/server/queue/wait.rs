//! How the serving thread waits for its next call ([`CallQueue::next`], [`CallQueue::spin_next`]):
//! on the queue's condition variable, by polling the queue for a moment while it holds its
//! interpreter's lock, or — when the server's `unix://` connections are its to read
//! ([`crate::transport::Host`]) — by reading them itself and serving what they send.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{drain, CallQueue, Next};

impl CallQueue {
    /// Waits up to `timeout` for the next live call. Calls whose caller has cancelled or whose
    /// deadline has passed are skipped (their caller already has its answer). Blocks the calling
    /// thread: a binding releases its interpreter's lock around this.
    ///
    /// While it waits, the thread reads the server's `unix://` connections itself and serves
    /// what they send (see [`crate::transport::Host`]); a binding calls this without its
    /// interpreter's lock, as it would for any blocking wait.
    pub fn next(&self, timeout: Duration) -> Next {
        let mut deadline = Instant::now() + timeout;
        let shared = &self.shared;
        if let Some(host) = &shared.host {
            let ready = || self.is_closed() || shared.queued.load(Ordering::Acquire) > 0;
            if host.serve(timeout, &ready, true) {
                // A call is queued, or the time is up: no more waiting below.
                deadline = Instant::now();
            }
        }
        let mut calls = self.shared.calls();
        loop {
            if self.is_closed() {
                drain(&mut calls);
                return Next::Closed;
            }
            if let Some(call) = self.pop_live(&mut calls) {
                return Next::Call(call);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::Idle;
            }
            calls = match self.shared.ready.wait_timeout(calls, left) {
                Ok((calls, _)) => calls,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Polls for the next call for up to `spin` without blocking, and without giving up the
    /// interpreter's lock the caller holds (giving up Ruby's GVL and taking it back costs more
    /// than a local call). `None`: no call came; block in [`next`](CallQueue::next). A closed
    /// queue gives [`Next::Closed`] at once. It spins
    /// only on a machine with a core to spare and while calls keep coming within `spin`: after
    /// four empty spins in a row it skips the next 32.
    pub fn spin_next(&self, spin: Duration) -> Option<Next> {
        let shared = &self.shared;
        if self.is_closed() {
            return Some(self.next(Duration::ZERO));
        }
        if spin.is_zero() || !crate::runtime::spare_core() {
            return None;
        }
        // Calls come from the connections the thread reads: it polls them for up to `spin`,
        // while calls lately came that soon, and never blocks.
        if let Some(host) = shared.host.as_ref().filter(|h| h.hosting()) {
            let ready = || self.is_closed() || shared.queued.load(Ordering::Acquire) > 0;
            host.serve(spin, &ready, false);
            return ready().then(|| self.next(Duration::ZERO));
        }
        if shared.skip.load(Ordering::Relaxed) > 0 {
            shared.skip.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let until = Instant::now() + spin;
        loop {
            if self.is_closed() {
                return Some(self.next(Duration::ZERO));
            }
            if shared.queued.load(Ordering::Acquire) > 0 {
                if let Some(call) = self.pop_live(&mut shared.calls()) {
                    shared.misses.store(0, Ordering::Relaxed);
                    return Some(Next::Call(call));
                }
            }
            if Instant::now() >= until {
                if shared.misses.fetch_add(1, Ordering::Relaxed) + 1 >= 4 {
                    shared.misses.store(0, Ordering::Relaxed);
                    shared.skip.store(32, Ordering::Relaxed);
                }
                return None;
            }
            std::hint::spin_loop();
        }
    }
}

impl crate::Server {
    /// Lets `queue`'s serving thread read this server's connections while it waits (the
    /// first queue a method is routed to).
    pub(crate) fn host_with(&self, queue: &CallQueue) {
        if let Some(host) = &queue.shared.host {
            let _ = self.core.host.set(host.clone());
        }
    }
}
