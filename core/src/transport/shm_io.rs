//! One `shm://` connection as a byte stream: the reading half consumes the peer's ring, the
//! writing half produces into ours, so the unix transport's connection code ([`serve_frames`],
//! [`UnixClient::over`]) runs over it unchanged.
//!
//! A reading half that finds its ring empty polls again (yielding to the runtime's other tasks)
//! for a short while when the other side lately answered that soon, then sleeps on its eventfd
//! through the runtime; a writing half whose ring is full sleeps at once. The unix socket the
//! connection was set up on stays open as its liveness channel: nothing more is sent on it, so
//! its end (the peer closed or was killed) or any byte on it closes the connection; a reader
//! still gets every byte the peer published before that, then the end of the stream.
//!
//! [`serve_frames`]: super::unix_server::serve_frames
//! [`UnixClient::over`]: super::unix_client::UnixClient::over

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::shm_ring::{Consumer, Producer, RingError};
use super::shm_sys::{drain, signal, Mapping};

#[path = "shm_io_led.rs"]
mod led;
pub(super) use led::{halves_led, ShmSyncRead};

/// The longest a half spins before it sleeps.
const SPIN: Duration = Duration::from_micros(30);

/// What both halves and the liveness watcher share; the mapping goes when all three are gone.
struct Link {
    _map: Mapping,
    /// The eventfds: ring 0's data and space, ring 1's data and space.
    events: [OwnedFd; 4],
    /// The unix socket (a duplicate of the watcher's), to shut it down.
    sock: OwnedFd,
    closed: AtomicBool,
}

struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Shuts the socket down (so the peer sees the end at once) when both halves are gone.
struct Guard {
    link: Arc<Link>,
    _stop: DropGuard,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: a plain call on the socket the link owns.
        unsafe { libc::shutdown(self.link.sock.as_raw_fd(), libc::SHUT_RDWR) };
    }
}

/// The recent time a half waited for its ring (a moving average), which decides whether it
/// spins before it sleeps.
#[derive(Default)]
struct Gauge {
    average_ns: AtomicU64,
}

impl Gauge {
    fn spin(&self) -> Duration {
        let usual = Duration::from_nanos(self.average_ns.load(Ordering::Relaxed));
        if usual > SPIN || !crate::runtime::spare_core() {
            return Duration::ZERO;
        }
        SPIN
    }

    fn record(&self, took: Duration) {
        let ns = took.as_nanos().min(u128::from(u32::MAX)) as u64;
        let old = self.average_ns.load(Ordering::Relaxed);
        self.average_ns
            .store(old - old / 8 + ns / 8, Ordering::Relaxed);
    }
}

fn corrupt(e: RingError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The reading half.
/// (Fields drop in order: the eventfd is deregistered and the ring let go before the link,
/// which owns the fds and the mapping, can go.)
pub(super) struct ShmRead {
    ring: Consumer,
    wait: AsyncFd<Fd>,
    wake: RawFd,
    gauge: Gauge,
    since: Option<Instant>,
    guard: Arc<Guard>,
}

/// The writing half. The reader is woken once per frame, at `flush` (every writer of a frame
/// flushes after it: a WebSocket needs it too), not after each piece of a frame written in
/// pieces; and before this side sleeps for room.
pub(super) struct ShmWrite {
    ring: Producer,
    wait: AsyncFd<Fd>,
    wake: RawFd,
    /// The reader asked to be woken, and has not been yet.
    owed: bool,
    guard: Arc<Guard>,
}

impl ShmWrite {
    fn pay(&mut self) {
        if std::mem::take(&mut self.owed) {
            signal(self.wake);
        }
    }
}

/// The two halves of a connection over `map`, for the server (`client == false`: it reads
/// ring 0 and writes ring 1) or the client; `sock` is the connection's socket, watched on the
/// runtime until it ends. Must be called within the runtime.
pub(super) fn halves(
    map: Mapping,
    capacity: u32,
    events: [OwnedFd; 4],
    sock: tokio::net::UnixStream,
    client: bool,
) -> io::Result<(ShmRead, ShmWrite)> {
    let (up, write) = link_up(map, capacity, events, sock, client)?;
    let read = ShmRead {
        ring: up.consumer,
        wait: register(up.data_in)?,
        wake: up.space_in,
        gauge: Gauge::default(),
        since: None,
        guard: up.guard,
    };
    Ok((read, write))
}

/// What the reading half of a connection is made of.
struct Up {
    consumer: Consumer,
    data_in: RawFd,
    space_in: RawFd,
    guard: Arc<Guard>,
}

/// The link of a connection, its writing half and what its reading half needs; the socket is
/// watched on the runtime until it ends.
fn link_up(
    map: Mapping,
    capacity: u32,
    events: [OwnedFd; 4],
    sock: tokio::net::UnixStream,
    client: bool,
) -> io::Result<(Up, ShmWrite)> {
    let region = map.region();
    let (rin, rout) = if client { (1, 0) } else { (0, 1) };
    let consumer = region.consumer(rin, capacity).map_err(corrupt)?;
    let producer = region.producer(rout, capacity).map_err(corrupt)?;
    let dup = sock.as_fd_dup()?;
    let link = Arc::new(Link {
        _map: map,
        events,
        sock: dup,
        closed: AtomicBool::new(false),
    });
    let ev = |i: usize| link.events[i].as_raw_fd();
    let (data_in, space_in, data_out, space_out) =
        (ev(2 * rin), ev(2 * rin + 1), ev(2 * rout), ev(2 * rout + 1));
    let stop = CancellationToken::new();
    let guard = Arc::new(Guard {
        link: link.clone(),
        _stop: stop.clone().drop_guard(),
    });
    let write = ShmWrite {
        ring: producer,
        wait: register(space_out)?,
        wake: data_out,
        owed: false,
        guard: guard.clone(),
    };
    tokio::spawn(watch(link, sock, stop, [data_in, space_out]));
    let up = Up {
        consumer,
        data_in,
        space_in,
        guard,
    };
    Ok((up, write))
}

/// Registers one of the link's eventfds with the runtime.
fn register(fd: RawFd) -> io::Result<AsyncFd<Fd>> {
    // SAFETY: the fd is owned by the link, which outlives the `AsyncFd`: each half drops its
    // `AsyncFd` (deregistering it) before its `guard`, the last owner of the link it may be.
    Ok(unsafe { AsyncFd::register_with_interest(Fd(fd), tokio::io::Interest::READABLE) }?)
}

trait DupFd {
    fn as_fd_dup(&self) -> io::Result<OwnedFd>;
}

impl DupFd for tokio::net::UnixStream {
    fn as_fd_dup(&self) -> io::Result<OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

/// Waits for the socket to end (or carry a stray byte, or both halves to go), then marks the
/// connection closed and wakes this side's sleeping halves.
async fn watch(
    link: Arc<Link>,
    sock: tokio::net::UnixStream,
    stop: CancellationToken,
    ours: [RawFd; 2],
) {
    let mut byte = [0u8; 1];
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            r = sock.readable() => match r.and_then(|()| sock.try_read(&mut byte)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                _ => break,
            },
        }
    }
    link.closed.store(true, Ordering::Release);
    for fd in ours {
        signal(fd);
    }
    // SAFETY: a plain call on the socket the link owns.
    unsafe { libc::shutdown(link.sock.as_raw_fd(), libc::SHUT_RDWR) };
}

/// Sleeps on `wait` unless `ready()` turned true after arming: `Ready(Ok)` means look again.
fn sleep(
    wait: &AsyncFd<Fd>,
    cx: &mut Context<'_>,
    ready: impl Fn() -> io::Result<bool>,
) -> Poll<io::Result<()>> {
    if ready()? {
        return Poll::Ready(Ok(()));
    }
    let mut g = ready!(wait.poll_read_ready(cx))?;
    drain(wait.get_ref().0);
    g.clear_ready();
    Poll::Ready(Ok(()))
}

impl AsyncRead for ShmRead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            let closed = me.guard.link.closed.load(Ordering::Acquire);
            let (n, wake) = me.ring.read(buf.initialize_unfilled()).map_err(corrupt)?;
            if n > 0 {
                if wake {
                    signal(me.wake);
                }
                if let Some(since) = me.since.take() {
                    me.gauge.record(since.elapsed());
                }
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            if closed {
                return Poll::Ready(Ok(()));
            }
            // The spin goes through the scheduler (wake, then `Pending`): a busy loop here would
            // hold up the tasks queued behind this one on its worker, such as the handler of the
            // call just read.
            let now = Instant::now();
            let since = *me.since.get_or_insert(now);
            if now < since + me.gauge.spin() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            me.ring.arm();
            let (ring, link) = (&me.ring, &me.guard.link);
            ready!(sleep(&me.wait, cx, || Ok(ring
                .available()
                .map_err(corrupt)?
                > 0
                || link.closed.load(Ordering::Acquire))))?;
        }
    }
}

impl AsyncWrite for ShmWrite {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if me.guard.link.closed.load(Ordering::Acquire) {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            let (n, wake) = me.ring.write(src).map_err(corrupt)?;
            me.owed |= wake;
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            // Full: the reader must be awake to make room.
            me.pay();
            me.ring.arm();
            let (ring, link) = (&me.ring, &me.guard.link);
            ready!(sleep(&me.wait, cx, || Ok(ring.free().map_err(corrupt)?
                > 0
                || link.closed.load(Ordering::Acquire))))?;
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().pay();
        Poll::Ready(Ok(()))
    }

    /// Ends the whole connection: the ring has no half-close, and the frame protocol needs none.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // SAFETY: a plain call on the socket the link owns.
        unsafe { libc::shutdown(self.guard.link.sock.as_raw_fd(), libc::SHUT_RDWR) };
        Poll::Ready(Ok(()))
    }
}
