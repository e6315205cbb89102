//! One connection of a blocking lane ([`super::unix_sync`]): the calls registered on it, and
//! the leader/follower reading of replies by the callers themselves (the leader sleeps in `poll`
//! on the connection and a wake-up socket; a follower parks).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use prost::Message;

use super::frame::{self, Hello, Kind, Trailer, HEADER_LEN};
use super::lane_pipe::Pipe;
use super::unix_client::{
    connection_closed, connection_lost, max_body, shutting_down, write_failed,
};
use super::wait::sys::read_into;
use super::wait::{lock, Poke, SpinGauge, Waiting};
use crate::call::{Blocker, Watch};
use crate::error::{Error, Result};
use crate::metadata::response::Reply;
use crate::metrics::FastMap;

pub(super) struct Conn {
    pipe: Pipe,
    /// A byte written to `.1` by a waker makes `.0` readable, so the leader's `poll` returns.
    wake: (UnixStream, UnixStream),
    writing: Mutex<()>,
    state: Mutex<State>,
    next_id: AtomicU32,
    max_body: usize,
    uri: String,
    /// How soon replies came lately (whether a caller polls before it blocks).
    pub(super) spin: SpinGauge,
}

/// How much a read asks for at least: the rest of a large frame comes in reads as large as the
/// pipe gives.
const CHUNK: usize = 64 * 1024;

/// How one call waits: until what, through which blocker, polling until when.
pub(super) struct How<'a> {
    pub(super) watch: &'a Watch,
    pub(super) blocker: &'a dyn Blocker,
    pub(super) spin_until: Instant,
    /// What a cancellation wakes: the caller's thread and the connection's wake-up socket.
    pub(super) poke: Arc<dyn Poke>,
    /// The watch on the call's cancel tokens, set up only once the caller is about to sleep
    /// (a reply that comes while it spins costs no registration).
    pub(super) waiting: std::cell::OnceCell<Waiting<'a>>,
}

impl How<'_> {
    /// Watches the cancel tokens before the caller sleeps; `true` when one is cancelled
    /// already (the caller must not sleep then: nothing would wake it).
    fn arm(&self) -> bool {
        self.waiting
            .get_or_init(|| Waiting::start(self.poke.clone(), self.watch));
        self.watch.stopped().is_some()
    }
}

#[derive(Default)]
struct State {
    /// A caller is reading the socket.
    leading: bool,
    calls: FastMap<u32, Slot>,
    /// Why the connection ended; every call on it fails with this.
    ended: Option<Error>,
    draining: bool,
    /// Bytes read and not yet a whole frame; kept across leaders.
    unread: BytesMut,
}

struct Slot {
    caller: Thread,
    reply: Option<Result<Reply<Bytes>>>,
}

impl Conn {
    /// Connects to the server at `path` (an `shm://` server's socket when `shm`) and says
    /// hello.
    pub(super) fn connect(shm: bool, path: &Path, uri: &str, max_message: usize) -> Result<Conn> {
        let pipe = if shm {
            Pipe::shm(path)
        } else {
            Pipe::unix(path)
        };
        let pipe = pipe.map_err(|e| {
            Error::unavailable(format!("cannot connect to {uri}: {e}"))
                .with_reason("CONNECT_FAILED")
                .with_source(e)
                .unsent()
        })?;
        let lost = |e: std::io::Error| {
            Error::unavailable(format!("handshake with {uri} failed: {e}")).with_source(e)
        };
        pipe.write_all(&[&frame::encode_message_frame(
            Kind::Hello,
            0,
            0,
            // This lane reads only while a call waits: it answers no PING, and makes no streams.
            &Hello {
                pings: false,
                headers: false,
                ..Hello::ours(max_message)
            },
        )])
        .map_err(lost)?;
        let max_body = max_body(max_message);
        let mut hb = [0u8; HEADER_LEN];
        pipe.read_exact(&mut hb).map_err(lost)?;
        let h = frame::parse_header(&hb)
            .map_err(|e| Error::unavailable(format!("handshake with {uri} failed: {e}")))?;
        if h.len as usize > max_body {
            return Err(Error::unavailable(format!(
                "handshake with {uri} failed: a frame of {} bytes",
                h.len
            )));
        }
        let mut body = vec![0u8; h.len as usize];
        pipe.read_exact(&mut body).map_err(lost)?;
        frame::check_server_hello(h.kind, body.into(), uri)?;
        pipe.handshaken().map_err(lost)?;
        let wake = UnixStream::pair().map_err(lost)?;
        wake.0.set_nonblocking(true).map_err(lost)?;
        wake.1.set_nonblocking(true).map_err(lost)?;
        Ok(Conn {
            pipe,
            wake,
            writing: Mutex::new(()),
            state: Mutex::new(State::default()),
            next_id: AtomicU32::new(1),
            max_body,
            uri: uri.to_string(),
            spin: SpinGauge::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Forgets call `id` (its request could not be sent).
    pub(super) fn forget(&self, id: u32) {
        self.lock().calls.remove(&id);
    }

    pub(super) fn register(&self) -> Result<u32> {
        let mut st = self.lock();
        if st.ended.is_some() {
            return Err(connection_closed(&self.uri));
        }
        if st.draining {
            return Err(shutting_down(&self.uri));
        }
        let id = self.next_id.fetch_add(2, Ordering::Relaxed);
        st.calls.insert(
            id,
            Slot {
                caller: std::thread::current(),
                reply: None,
            },
        );
        Ok(id)
    }

    /// Writes `parts`, one after the other, as one frame or more: no other writer comes between.
    pub(super) fn write(&self, parts: &[&[u8]]) -> Result<()> {
        let _writing = lock(&self.writing);
        self.pipe.write_all(parts).map_err(|e| {
            self.end(connection_lost(&self.uri, &e.to_string()), false);
            write_failed(&self.uri, e)
        })
    }

    /// Waits for call `id`'s reply, reading the socket while no one else does.
    pub(super) fn wait(&self, id: u32, how: &How<'_>) -> Result<Reply<Bytes>> {
        let watch = how.watch;
        loop {
            let mut st = self.lock();
            match st.calls.get_mut(&id).map(|s| s.reply.take()) {
                Some(Some(reply)) => {
                    st.calls.remove(&id);
                    // As on the async path, a cancellation or close the caller made wins over
                    // a reply that came meanwhile.
                    return watch.stopped().map_or(reply, Err);
                }
                Some(None) => {}
                // Taken by `end`.
                None => return Err(st.ended.clone().unwrap_or_else(Error::client_closed)),
            }
            if let Some(e) = st.ended.clone() {
                st.calls.remove(&id);
                return Err(e);
            }
            if let Some(e) = watch.stopped() {
                st.calls.remove(&id);
                drop(st);
                let _ = self.write(&[&frame::encode_frame(Kind::Cancel, 0, id, &[])]);
                return Err(e);
            }
            if !st.leading {
                st.leading = true;
                let mut unread = std::mem::take(&mut st.unread);
                drop(st);
                let outcome = self.lead(id, how, &mut unread);
                let mut st = self.lock();
                st.leading = false;
                st.unread = unread;
                if let Err(e) = outcome {
                    drop(st);
                    self.end(e, false);
                } else if let Some(next) = st
                    .calls
                    .iter()
                    .find(|(k, s)| **k != id && s.reply.is_none())
                {
                    // Hand the reading on to a caller still waiting.
                    next.1.caller.unpark();
                }
                continue;
            }
            drop(st);
            if how.arm() {
                continue;
            }
            how.blocker.block(&mut || match watch.deadline {
                Some(d) => std::thread::park_timeout(d.saturating_duration_since(Instant::now())),
                None => std::thread::park(),
            });
        }
    }

    /// Reads frames until call `id` has its reply or the caller stops waiting. `Err`: the
    /// connection is unusable.
    fn lead(&self, id: u32, how: &How<'_>, unread: &mut BytesMut) -> Result<()> {
        let watch = how.watch;
        loop {
            while let Some((h, body)) = self.next_frame(unread)? {
                self.deliver(h, body)?;
            }
            let st = self.lock();
            if st.calls.get(&id).is_none_or(|s| s.reply.is_some()) {
                return Ok(());
            }
            drop(st);
            if watch.stopped().is_some() {
                return Ok(());
            }
            let readable = if Instant::now() < how.spin_until {
                self.poll(Some(Instant::now()))?
            } else if how.arm() {
                return Ok(());
            } else {
                let mut polled = Ok(false);
                how.blocker
                    .block(&mut || polled = self.poll(watch.deadline));
                polled?
            };
            if readable {
                match read_into(unread, CHUNK, |b| self.pipe.read(b)) {
                    Ok(0) => return Err(self.lost("the server closed the connection")),
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                        ) => {}
                    Err(e) => return Err(self.lost(&e.to_string())),
                }
            }
        }
    }

    fn lost(&self, reason: &str) -> Error {
        connection_lost(&self.uri, reason)
    }

    /// Waits until the socket is readable (true), the wake-up socket was written or the deadline
    /// passed (false).
    fn poll(&self, deadline: Option<Instant>) -> Result<bool> {
        let timeout = deadline.map_or(-1, |d| {
            let left = d.saturating_duration_since(Instant::now());
            left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        let (readable, woken) = self
            .pipe
            .wait(Some(self.wake.0.as_raw_fd()), timeout)
            .map_err(|e| self.lost(&format!("poll: {e}")))?;
        if woken {
            super::wait::drain(&self.wake.0);
        }
        Ok(readable)
    }

    fn next_frame(&self, unread: &mut BytesMut) -> Result<Option<(frame::Header, Bytes)>> {
        if unread.len() < HEADER_LEN {
            return Ok(None);
        }
        let h = frame::peek_header(unread).map_err(|e| self.lost(&e.to_string()))?;
        let len = h.len as usize;
        if len > self.max_body {
            return Err(self.lost(&format!("server sent a frame of {len} bytes")));
        }
        if unread.len() < HEADER_LEN + len {
            unread.reserve(HEADER_LEN + len - unread.len());
            return Ok(None);
        }
        Ok(Some((h, frame::split_frame(unread, len))))
    }

    fn deliver(&self, h: frame::Header, body: Bytes) -> Result<()> {
        match h.kind {
            Kind::Status => {
                let trailer =
                    Trailer::decode(body).map_err(|e| self.lost(&format!("bad STATUS: {e}")))?;
                let mut st = self.lock();
                if let Some(slot) = st.calls.get_mut(&h.stream) {
                    // A call ended by `end` keeps that outcome.
                    if slot.reply.is_none() {
                        slot.reply = Some(trailer.into_reply());
                    }
                    slot.caller.unpark();
                }
                Ok(())
            }
            Kind::GoAway => {
                self.lock().draining = true;
                Ok(())
            }
            // A late message of a call given up (the lane makes unary calls only).
            Kind::Message | Kind::Pong => Ok(()),
            other => Err(self.lost(&format!("unexpected {other:?} frame from server"))),
        }
    }

    /// Fails every call on the connection with `why` and shuts it; with `cancel`, the server
    /// first gets CANCEL for each call in flight.
    pub(super) fn end(&self, why: Error, cancel: bool) {
        let ids: Vec<u32> = {
            let mut st = self.lock();
            if st.ended.is_some() {
                return;
            }
            st.ended = Some(why.clone());
            let ids = st.calls.keys().copied().collect();
            for slot in st.calls.values_mut() {
                if slot.reply.is_none() {
                    slot.reply = Some(Err(why.clone()));
                }
                slot.caller.unpark();
            }
            ids
        };
        if cancel {
            let mut bytes = Vec::new();
            for id in ids {
                bytes.extend(frame::encode_frame(Kind::Cancel, 0, id, &[]));
            }
            let _writing = lock(&self.writing);
            let _ = self.pipe.write_all(&[&bytes]);
        }
        self.pipe.shutdown();
        self.poke();
    }
}

impl Poke for Conn {
    fn poke(&self) {
        // A full pipe is already a pending wake-up.
        let _ = (&self.wake.1).write(&[1]);
    }
}
