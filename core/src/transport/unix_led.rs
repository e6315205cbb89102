//! `unix://` server connections led by threads of their own: the thread that reads a call runs
//! its handler (when the handler can run on any thread and is ready at once: a Rust, Python,
//! Go, C or Kotlin handler registered to run inline) and writes the reply itself, so a local
//! call costs the server one wake-up, the kernel's, as a raw socket echo does. Handlers that
//! answer later (async ones, Node's event loop) are spawned on the runtime as on the runtime's
//! connections. A server whose handlers all run on one thread from a queue (Ruby's, PHP's)
//! has that thread read its connections while it waits ([`host`]): a connection's thread gives
//! the reading to it and ends.
//!
//! Leader/follower: a thread lets go of the reading before it runs a handler, and takes it back
//! after. A handler that runs for longer than [`HAND_OVER`] does not hold the connection up: the
//! [`watchdog`](super::watchdog) starts another thread that takes the reading over (so later calls,
//! CANCEL frames and a dead peer are still seen), and the first thread ends when its handler
//! returns. The semantics are those of [`super::unix_server`]: both hand frames to [`Connection`].

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio_util::sync::CancellationToken;

use super::frame;
use super::lane_pipe::{Pipe, Source};
use super::unix_conn::{Connection, Step};
use super::unix_server::{write_frame, BoxWrite};
use super::unix_write::SockWrite;
use super::wait::{lock, SpinGauge};
use super::{watchdog, Service};
use crate::peer::Peer;

#[path = "unix_led_host.rs"]
pub(super) mod host;
#[path = "unix_led_read.rs"]
mod read;
use host::Host;
use read::{Got, Wait};
/// For this crate's tests (`server/led_tests.rs`): while set, a thread that let go of the
/// reading stalls well past [`HAND_OVER`] before it goes on, as a thread preempted on a busy
/// machine does, so the watchdog hands the reading to another thread first.
#[cfg(test)]
pub(crate) static HOLD_UP: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// How long a handler may run on the reading thread before another thread takes the reading
/// over (give or take the watchdog's tick).
pub(super) const HAND_OVER: Duration = Duration::from_millis(1);

/// At most this many connections of a process are led by threads; the runtime serves the rest.
const MAX_LED: usize = 256;

static LED: AtomicUsize = AtomicUsize::new(0);

/// Hands an accepted connection to a thread of its own, unless threads are off
/// ([`crate::runtime::server_threads`]), the server runs on a current-thread runtime or
/// [`MAX_LED`] connections have one; then it is given back for the runtime to serve.
pub(super) fn lead(
    stream: tokio::net::UnixStream,
    core: &Arc<dyn Service>,
    peer: Peer,
) -> Option<(tokio::net::UnixStream, Peer)> {
    if !can_lead() {
        return Some((stream, peer));
    }
    let address = peer.address.clone();
    let started = split(stream).and_then(|(source, writer)| {
        Led::start(source, writer, core, peer, crate::runtime::handle())
    });
    if let Err(reason) = started {
        tracing::warn!(peer = %address, %reason, "closing unix connection");
    }
    None
}

/// Whether a new connection may have a thread of its own (see [`lead`]).
pub(super) fn can_lead() -> bool {
    crate::runtime::server_threads()
        && crate::runtime::handle().runtime_flavor() == RuntimeFlavor::MultiThread
        && LED.load(Ordering::Acquire) < MAX_LED
}

/// Leads a connection whose reading is `source` and whose replies go to `writer` (an `shm://`
/// connection's ring and the runtime's half writing the other ring); call when [`can_lead`].
pub(super) fn lead_with(
    source: Box<dyn Source>,
    writer: BoxWrite,
    core: &Arc<dyn Service>,
    peer: Peer,
) {
    let address = peer.address.clone();
    if let Err(reason) = Led::start(source, writer, core, peer, crate::runtime::handle()) {
        tracing::warn!(peer = %address, %reason, "closing connection");
    }
}

/// A unix connection, taken out of the runtime's reactor, as a source read by the leading thread
/// (another descriptor of the same non-blocking socket) and a writer that joins the reactor only
/// while the socket is full ([`SockWrite`]).
fn split(stream: tokio::net::UnixStream) -> Result<(Box<dyn Source>, BoxWrite), String> {
    let sock = stream.into_std().map_err(|e| e.to_string())?;
    let read = sock.try_clone().map_err(|e| e.to_string())?;
    Ok((Box::new(Pipe::Unix(read)), Box::new(SockWrite::new(sock))))
}

/// One connection's reading: what was read and not yet used (and how much of an oversized
/// frame is still to drop), kept across leaders.
pub(super) struct Reading {
    buf: BytesMut,
    skip: usize,
    /// The last call finished on the reading thread: the next one may be polled for. (One that
    /// went on elsewhere, on Ruby's or Node's thread, needs the core a poll would take.)
    poll_next: bool,
    goaway_sent: bool,
}

/// What became of the reading after [`Led::serve_frame`].
enum Served {
    Keep(Reading),
    /// Another thread took the reading over while a handler ran here.
    Led,
    /// The connection was closed.
    Closed,
}

pub(super) struct Led {
    conn: Connection,
    /// What the leading thread reads: the socket, non-blocking (the runtime's copy writes), or
    /// an shm connection's ring.
    source: Box<dyn Source>,
    /// A byte written to `.1` (on drain or stop) makes `.0` readable, so `poll` returns.
    wake: (UnixStream, UnixStream),
    handle: Handle,
    /// The reading, while no thread has it: let go at that instant, for a handler to run.
    free: Mutex<Option<(Reading, Instant)>>,
    ended: CancellationToken,
    /// How soon the next call usually comes: the reader polls for it that long before it
    /// blocks, when that is soon.
    gauge: SpinGauge,
    /// The thread that runs every handler of this server (Ruby's, PHP's), which reads this
    /// connection itself while it waits for a call ([`host`]).
    host: Option<Arc<Host>>,
}

impl Drop for Led {
    fn drop(&mut self) {
        self.ended.cancel();
        LED.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Led {
    fn start(
        source: Box<dyn Source>,
        writer: BoxWrite,
        core: &Arc<dyn Service>,
        peer: Peer,
        handle: Handle,
    ) -> Result<(), String> {
        let err = |e: std::io::Error| e.to_string();
        let wake = UnixStream::pair().map_err(err)?;
        wake.0.set_nonblocking(true).map_err(err)?;
        wake.1.set_nonblocking(true).map_err(err)?;
        let poke = wake.1.try_clone().map_err(err)?;
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        // Counted until dropped.
        LED.fetch_add(1, Ordering::AcqRel);
        let host = core.host().filter(|_| source.fd().is_some());
        let led = Arc::new(Led {
            conn: Connection::new(core.clone(), peer, writer),
            source,
            wake,
            handle: handle.clone(),
            free: Mutex::new(None),
            ended: CancellationToken::new(),
            gauge: SpinGauge::default(),
            host,
        });
        let (drain, stop, ended) = (core.drain().clone(), core.stop().clone(), led.ended.clone());
        handle.spawn(async move {
            let poke = move || {
                let _ = (&poke).write(&[1]);
            };
            tokio::select! {
                _ = ended.cancelled() => return,
                _ = stop.cancelled() => return poke(),
                _ = drain.cancelled() => poke(),
            }
            tokio::select! {
                _ = ended.cancelled() => {}
                _ = stop.cancelled() => poke(),
            }
        });
        watchdog::register(&led);
        if let Some(host) = &led.host {
            host.attach(&led);
        }
        let reading = Reading {
            buf: BytesMut::with_capacity(64 * 1024),
            skip: 0,
            poll_next: true,
            goaway_sent: false,
        };
        led.spawn(reading, true).map_err(|(reason, _)| reason)
    }

    /// Starts a thread that leads the connection from `reading` on; when none can be started,
    /// the reading is given back with the reason.
    pub(super) fn spawn(
        self: &Arc<Self>,
        reading: Reading,
        first: bool,
    ) -> Result<(), (String, Reading)> {
        let handoff = Arc::new(Mutex::new(Some(reading)));
        let (led, theirs) = (self.clone(), handoff.clone());
        let started = std::thread::Builder::new()
            .name("hms-ffi-conn".into())
            .spawn(move || {
                crate::runtime::block_sigpipe();
                if let Some(reading) = lock(&theirs).take() {
                    led.run(reading, first);
                }
            });
        match started {
            Ok(_) => Ok(()),
            Err(e) => match lock(&handoff).take() {
                Some(reading) => Err((format!("cannot start a connection thread: {e}"), reading)),
                None => Ok(()),
            },
        }
    }

    fn run(self: Arc<Self>, mut reading: Reading, first: bool) {
        crate::runtime::mark_own_thread();
        let _enter = self.handle.enter();
        if first {
            if let Err(reason) = self.handshake(&mut reading) {
                return self.close(Some(reason));
            }
            let led = Arc::downgrade(&self);
            self.conn.keepalive(self.ended.clone(), move || {
                if let Some(led) = led.upgrade() {
                    led.fail("keepalive: no answer to a PING");
                }
            });
        }
        loop {
            if self.host_wants() {
                return self.give_to_host(reading);
            }
            let (h, body) = match self.next(&mut reading, Wait::Serve) {
                Ok(Got::Ready(f)) => f,
                Ok(Got::End) => return self.close(None),
                Ok(Got::NotYet) => continue,
                Ok(Got::Yield) => return self.give_to_host(reading),
                Err(reason) => return self.close(Some(reason)),
            };
            match self.serve_frame(h, body, reading, &mut || {}) {
                Served::Keep(r) => reading = r,
                Served::Led | Served::Closed => return,
            }
        }
    }

    /// Serves one frame read with `reading` in hand: a reply written, or a call opened (its
    /// handler may run here: the reading is let go first, and `letting_go` runs then too).
    fn serve_frame(
        &self,
        h: frame::Header,
        body: bytes::Bytes,
        reading: Reading,
        letting_go: &mut dyn FnMut(),
    ) -> Served {
        let call = match self.conn.step(h, body) {
            Ok(Step::Done) => return Served::Keep(reading),
            Ok(Step::Write(bytes)) => {
                self.write(&bytes);
                return Served::Keep(reading);
            }
            Ok(Step::Open(call)) => call,
            Err(reason) => {
                self.close(Some(reason));
                return Served::Closed;
            }
        };
        // The handler may run right here: let go of the reading first, but only once the
        // call is registered (`open` calls `start` after that). A reading let go before
        // could be taken over by the watchdog's thread if this one is held up for a moment,
        // and that thread would drop the call's next frames (its request, END, CANCEL) as
        // frames of an unknown call: a stream handler then saw no request, or waited for
        // one until its deadline (seen in CI with the JVM's threads busy on two cores).
        let mut held = Some(reading);
        let mut here = true;
        let opened = self.conn.open(call, |task| {
            if let Some(r) = held.take() {
                self.let_go(r);
            }
            letting_go();
            here = crate::runtime::spawn_eager(task);
        });
        match opened {
            Ok(None) => {}
            Ok(Some(refusal)) => self.write(&refusal),
            Err(reason) => self.fail(&reason),
        }
        match held.or_else(|| self.take_back()) {
            Some(mut r) => {
                r.poll_next = here;
                Served::Keep(r)
            }
            // Another thread leads now.
            None => Served::Led,
        }
    }

    /// Whether this connection's host thread waits for calls and reads connections itself.
    fn host_wants(&self) -> bool {
        self.host.as_ref().is_some_and(|h| h.polling())
    }

    /// Leaves the reading for the host's thread, which takes it in its next round; this thread
    /// ends. (If that thread went on to a handler meanwhile, the watchdog hands the reading to
    /// a new thread, as for any reading let go.)
    fn give_to_host(&self, reading: Reading) {
        self.let_go(reading);
        if let Some(host) = &self.host {
            host.poke();
        }
    }

    /// Lets go of the reading while a handler runs here: the watchdog hands it to another
    /// thread if the handler runs for longer than [`HAND_OVER`].
    fn let_go(&self, reading: Reading) {
        *lock(&self.free) = Some((reading, Instant::now()));
        watchdog::released();
        #[cfg(test)]
        if HOLD_UP.load(Ordering::Acquire) {
            std::thread::sleep(HAND_OVER * 30);
        }
    }

    fn take_back(&self) -> Option<Reading> {
        let taken = lock(&self.free).take().map(|(r, _)| r);
        if taken.is_some() {
            watchdog::taken();
        }
        taken
    }

    /// For the watchdog: the reading, if a handler has held it up for longer than `after`.
    pub(super) fn stuck(&self, after: Duration) -> Option<Reading> {
        let mut free = lock(&self.free);
        if free
            .as_ref()
            .is_some_and(|(_, since)| since.elapsed() >= after)
        {
            return free.take().map(|(r, _)| r);
        }
        None
    }

    /// Gives the reading back when no thread could be started to take it.
    pub(super) fn put_back(&self, reading: Reading) {
        *lock(&self.free) = Some((reading, Instant::now()));
    }

    fn write(&self, bytes: &[u8]) {
        let _ = self.handle.block_on(write_frame(&self.conn.writer, bytes));
    }

    /// Closes the connection after a protocol error found while another thread may lead.
    fn fail(&self, reason: &str) {
        tracing::warn!(peer = %self.conn.peer.address, %reason, "closing unix connection");
        self.source.shutdown();
    }

    fn close(&self, reason: Option<String>) {
        if let Some(reason) = reason {
            self.fail(&reason);
        }
        // Whatever ended the connection, every call still running on it is cancelled.
        self.conn.cancel_all();
        self.ended.cancel();
        if let Some(host) = &self.host {
            host.detach(self);
        }
    }
}
