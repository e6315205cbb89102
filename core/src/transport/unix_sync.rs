//! The blocking lane of a `unix://` or `shm://` client: a caller that may block (a thread of a synchronous
//! binding: Python without asyncio, Go, Ruby, PHP, C, Kotlin's blocking calls) makes its unary
//! call on its own thread. It writes the request and, while no other caller is reading the
//! connection, reads the reply itself (leader/follower): no runtime thread takes part, so the
//! only wake-up on the client side is the kernel's, when the reply arrives.
//!
//! The lane is a second connection to the same socket (for `shm://`, a second shm connection:
//! its rings, read and written by the callers, see [`super::lane_pipe`]), opened on the first
//! blocking call; async callers and streams keep the multiplexed connection of
//! [`super::unix_client`]. Its
//! semantics are theirs: a deadline, the caller's cancellation or `close` sends CANCEL for the
//! call; after GOAWAY new calls fail with `SHUTTING_DOWN`; a lost connection fails the calls on
//! it with `CONNECTION_LOST` and later ones with `CONNECTION_CLOSED`.
//!
//! Waiting ([`super::lane_conn`]): the leader sleeps in `poll` on the connection and a wake-up
//! socket; a follower parks. The cancel tokens are watched without a runtime, and only once the
//! caller is about to sleep: their futures are polled once with a waker that unparks the caller
//! and writes the wake-up socket (see [`super::wait::Waiting`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;

use super::frame::{self, Kind, FLAG_UNARY};
use super::lane_conn::{Conn, How};
use super::wait::lock;
use crate::call::{Blocker, CallHead, Watch};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::response::Reply;

/// The blocking lane of one client: connected on first use.
pub(crate) struct SyncLane {
    path: PathBuf,
    uri: String,
    /// Over shared memory (`shm://`), else the socket itself.
    shm: bool,
    max_message: usize,
    conn: Mutex<Option<Arc<Conn>>>,
}

impl SyncLane {
    pub(crate) fn new(path: &Path, limits: &Limits) -> SyncLane {
        SyncLane {
            path: path.to_path_buf(),
            uri: format!("unix://{}", path.display()),
            shm: false,
            max_message: limits.max_message_bytes,
            conn: Mutex::new(None),
        }
    }

    /// The lane of an `shm://` client (`uri`, its server's socket at `path`): a second shm
    /// connection, read and written by the callers themselves.
    pub(crate) fn shm(path: &Path, uri: &str, limits: &Limits) -> SyncLane {
        SyncLane {
            shm: true,
            uri: uri.to_string(),
            ..SyncLane::new(path, limits)
        }
    }

    /// Makes one unary call on the calling thread.
    pub(crate) fn unary(
        &self,
        head: CallHead,
        payload: Bytes,
        watch: &Watch,
        blocker: &dyn Blocker,
    ) -> Result<Reply<Bytes>> {
        let (conn, id) = self.register()?;
        // The timeout on the wire is what is left now, after a connect the register may have
        // made: the server's deadline is then the caller's, not later by the connect.
        let mut head = head;
        if let Some(d) = watch.deadline {
            head.timeout = Some(d.saturating_duration_since(Instant::now()));
        }
        // A large request goes from its buffer to the pipe: not copied into the frame first.
        let (frame, payload) = frame::payload_frame(
            Kind::Call,
            FLAG_UNARY,
            id,
            &head.to_header(Bytes::new()),
            frame::CALL_PAYLOAD_TAG,
            payload,
        );
        let written = conn.write(&[&frame, &payload]);
        if let Err(e) = written {
            conn.forget(id);
            return Err(e);
        }
        let sent = Instant::now();
        let how = How {
            watch,
            blocker,
            spin_until: conn.spin.until(sent, blocker),
            poke: conn.clone(),
            waiting: std::cell::OnceCell::new(),
        };
        let result = conn.wait(id, &how);
        drop(how);
        conn.spin.record(sent.elapsed());
        result
    }

    /// A live connection (a new one when the last ended or the server said GOAWAY) and the id
    /// of a call registered on it.
    fn register(&self) -> Result<(Arc<Conn>, u32)> {
        let conn = self.conn()?;
        match conn.register() {
            Ok(id) => Ok((conn, id)),
            Err(_) => {
                let mut slot = lock(&self.conn);
                if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &conn)) {
                    *slot = None;
                }
                drop(slot);
                let conn = self.conn()?;
                let id = conn.register()?;
                Ok((conn, id))
            }
        }
    }

    /// Fails the calls on the lane's connection with `why` and drops it (the next call opens
    /// a new one): the multiplexed connection found the server dead.
    pub(crate) fn fail(&self, why: Error) {
        let conn = lock(&self.conn).take();
        if let Some(conn) = conn {
            conn.end(why, false);
        }
    }

    /// Ends the lane: CANCEL for the calls in flight, then the connection is shut.
    pub(crate) fn close(&self) {
        let conn = lock(&self.conn).take();
        if let Some(conn) = conn {
            conn.end(Error::client_closed(), true);
        }
    }

    fn conn(&self) -> Result<Arc<Conn>> {
        let mut slot = lock(&self.conn);
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let conn = Arc::new(Conn::connect(
            self.shm,
            &self.path,
            &self.uri,
            self.max_message,
        )?);
        *slot = Some(conn.clone());
        Ok(conn)
    }
}
