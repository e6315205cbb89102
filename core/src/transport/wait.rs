//! How a blocking caller's thread waits for its reply: it polls briefly first while a reply
//! usually comes that soon (and a spare core can run the server meanwhile), then blocks through
//! the binding's [`Blocker`] (Ruby gives up its GVL only there), woken by the connection or by
//! its cancel tokens without a runtime.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::call::{Blocker, Watch};

/// Locks `m`, also after a thread panicked holding it (the guarded state stays consistent:
/// every writer of it finishes before it can panic).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Empties a wake-up socket (the reading end of a non-blocking pair poked with single bytes).
pub(super) fn drain(wake: &std::os::unix::net::UnixStream) {
    use std::io::Read;
    let mut buf = [0u8; 64];
    while matches!((&*wake).read(&mut buf), Ok(n) if n > 0) {}
}

/// The recent reply time of a connection's blocking calls (a moving average), which decides
/// whether a caller polls before it blocks.
#[derive(Debug, Default)]
pub(super) struct SpinGauge {
    average_us: AtomicU64,
}

impl SpinGauge {
    /// Until when a call sent at `sent` polls: for the blocker's spin time, when replies lately
    /// came within it and the machine has a core to spare for the server; else not at all.
    pub(super) fn until(&self, sent: Instant, blocker: &dyn Blocker) -> Instant {
        let spin = blocker.spin();
        let usual = Duration::from_micros(self.average_us.load(Ordering::Relaxed));
        if spin.is_zero() || usual > spin || !crate::runtime::spare_core() {
            return sent;
        }
        sent + spin
    }

    /// Counts one call's reply time.
    pub(super) fn record(&self, took: Duration) {
        let us = took.as_micros().min(u128::from(u32::MAX)) as u64;
        let old = self.average_us.load(Ordering::Relaxed);
        self.average_us
            .store(old - old / 8 + us / 8, Ordering::Relaxed);
    }
}

/// Watches a blocking call's cancel tokens while it waits: each token's future is polled once
/// with a waker that unparks the caller and pokes the connection's wake-up socket (for a caller that
/// is reading the socket). Dropping it unregisters the waker.
pub(super) struct Waiting<'a> {
    _futures: Vec<std::pin::Pin<Box<tokio_util::sync::WaitForCancellationFuture<'a>>>>,
}

/// Wakes a caller that is reading its connection (a follower is unparked instead).
pub(super) trait Poke: Send + Sync {
    fn poke(&self);
}

struct CallerWaker {
    caller: Thread,
    conn: Arc<dyn Poke>,
}

impl Wake for CallerWaker {
    fn wake(self: Arc<Self>) {
        self.caller.unpark();
        self.conn.poke();
    }
}

impl<'a> Waiting<'a> {
    pub(super) fn start(poke: Arc<dyn Poke>, watch: &'a Watch) -> Waiting<'a> {
        let waker = Waker::from(Arc::new(CallerWaker {
            caller: std::thread::current(),
            conn: poke,
        }));
        let mut cx = TaskContext::from_waker(&waker);
        let mut futures = Vec::with_capacity(2);
        for token in watch.tokens() {
            let mut fut = Box::pin(token.cancelled());
            // Ready means cancelled already: `Watch::stopped` sees it on the first check.
            let _ = fut.as_mut().poll(&mut cx);
            futures.push(fut);
        }
        Waiting { _futures: futures }
    }
}

/// The system calls std does not offer, and reads into memory not yet initialized.
#[allow(unsafe_code)]
pub(super) mod sys {
    use std::io;
    use std::mem::MaybeUninit;
    use std::os::fd::RawFd;

    use bytes::BytesMut;

    /// One `read(2)` of `fd` into `buf`; the first `n` bytes of `buf` are initialized when it
    /// returns `n`.
    pub(in crate::transport) fn read(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        // SAFETY: `buf` is writable memory of `buf.len()` bytes; the kernel writes at most that
        // many.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// `buf` for a reader that only writes initialized bytes into it (a `Source`).
    pub(in crate::transport) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
        // SAFETY: the same memory and length; a `MaybeUninit<u8>` has the layout of a `u8`, and
        // the readers this is given to write only initialized bytes, so `buf` stays valid.
        unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
    }

    /// Reads once from `read` straight into the spare capacity of `buf` (at least `want` bytes
    /// of room are made first), so the bytes are copied once, from the socket or ring to where
    /// the frame parser finds them; returns what `read` did. `read` must initialize the first
    /// `n` bytes of what it is given when it returns `n` (the `Source` contract).
    pub(in crate::transport) fn read_into(
        buf: &mut BytesMut,
        want: usize,
        read: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        buf.reserve(want.max(1));
        let spare = buf.spare_capacity_mut();
        let room = spare.len();
        let n = read(spare)?.min(room);
        // SAFETY: `read` initialized the first `n` bytes of the spare capacity, `n <= room`.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// Waits up to `timeout_ms` (-1: for ever) until `a` or `b` is readable (or closed); says
    /// which. An interrupted wait reports neither.
    pub(in crate::transport) fn poll2(
        a: RawFd,
        b: RawFd,
        timeout_ms: i32,
    ) -> std::io::Result<(bool, bool)> {
        let [a, b] = poll_all([a, b], timeout_ms)?;
        Ok((a, b))
    }

    /// One `send(2)` of `buf` on the socket `fd`, without SIGPIPE (the thread may be a host
    /// language's, whose signal dispositions are its own).
    pub(in crate::transport) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the call.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// `fd` registered with the current runtime's reactor for writability only.
    pub(in crate::transport) fn writable(
        fd: std::os::fd::OwnedFd,
    ) -> io::Result<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
        // SAFETY: an `OwnedFd` is a valid open descriptor that it owns, closes only when
        // dropped (with the `AsyncFd`), and always reports as the same number.
        unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::WRITABLE)
        }
        .map_err(|e| e.into_parts().1)
    }

    /// [`poll_all`] over any number of descriptors: `ready[i]` says whether `fds[i]` is readable
    /// (or closed).
    pub(in crate::transport) fn poll_slice(
        fds: &[RawFd],
        ready: &mut Vec<bool>,
        timeout_ms: i32,
    ) -> std::io::Result<()> {
        let mut set: Vec<libc::pollfd> = fds
            .iter()
            .map(|&fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        ready.clear();
        // SAFETY: `set` is a valid array of `set.len()` `pollfd` that outlives the call.
        let n = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            ready.resize(fds.len(), false);
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(e);
        }
        ready.extend(set.iter().map(|p| p.revents != 0));
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: for ever) until one of `fds` is readable (or closed); says
    /// which. An interrupted wait reports none.
    pub(in crate::transport) fn poll_all<const N: usize>(
        fds: [RawFd; N],
        timeout_ms: i32,
    ) -> std::io::Result<[bool; N]> {
        let mut set = fds.map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: `set` is a valid array of `N` `pollfd` that outlives the call.
        let n = unsafe { libc::poll(set.as_mut_ptr(), N as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok([false; N]);
            }
            return Err(e);
        }
        Ok(set.map(|p| p.revents != 0))
    }
}
