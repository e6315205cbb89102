//! The reading half of an `shm://` server connection for a connection thread
//! ([`super::super::unix_led`]): the thread reads the ring itself and sleeps in `poll` on its
//! eventfd, woken by the client's publish or by the end of the connection (the watcher marks it
//! closed and signals the eventfd); replies go through the runtime's writing half.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::super::lane_pipe::{RingIn, Source};
use super::{link_up, Guard, Mapping, ShmWrite};

/// A server connection's halves for a connection thread: the ring read
/// on that thread without the runtime, the replies written through the runtime's half.
pub(in crate::transport) fn halves_led(
    map: Mapping,
    capacity: u32,
    events: [OwnedFd; 4],
    sock: tokio::net::UnixStream,
) -> io::Result<(ShmSyncRead, ShmWrite)> {
    let (up, write) = link_up(map, capacity, events, sock, false)?;
    let read = ShmSyncRead {
        ring: RingIn::new(up.consumer, up.data_in, up.space_in),
        guard: up.guard,
    };
    Ok((read, write))
}

/// The reading half of a led server connection.
pub(in crate::transport) struct ShmSyncRead {
    ring: RingIn,
    guard: Arc<Guard>,
}

impl ShmSyncRead {
    /// Whether the client is gone (the watcher saw the socket end).
    fn closed(&self) -> bool {
        self.guard.link.closed.load(Ordering::Acquire)
    }
}

impl Source for ShmSyncRead {
    fn read(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        self.ring.read(buf, || self.closed())
    }

    fn wait(&self, wake: Option<RawFd>, timeout_ms: i32) -> io::Result<(bool, bool)> {
        // The watcher signals the data eventfd when the connection ends.
        self.ring
            .wait(-1, wake.unwrap_or(-1), timeout_ms, || self.closed())
    }

    fn shutdown(&self) {
        // SAFETY: a plain call on the socket the link owns.
        unsafe { libc::shutdown(self.guard.link.sock.as_raw_fd(), libc::SHUT_RDWR) };
    }
}
