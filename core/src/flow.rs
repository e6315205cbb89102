//! Flow control for streams: a sender's [`Window`] (the bytes it may still send before the
//! receiver has read them) and a receiver's [`Credit`] (which gives bytes back to the sender as
//! they are read). On `unix://` and `ws://` the credit travels in `WINDOW` frames
//! (`docs/wire.md`, "Flow control"); in one process (`inproc://`) a credit grants the peer's
//! window directly; on `grpc://` HTTP/2's own windows do the work and these bound the buffers
//! between the connection and the handler. A slow reader thus slows its writer instead of
//! growing memory: each direction of a stream holds at most its window plus one message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One side's flow control for one stream: the window its sends wait on (the peer's receive
/// window) and the credit its reads give back. `None` where the peer does no flow control (an
/// older peer), which leaves that direction unbounded as before.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// What this side's sends wait for.
    pub window: Option<Arc<Window>>,
    /// What this side's reads give back.
    pub credit: Option<Arc<Credit>>,
    /// The bytes this side has sent and read (the stream's size metrics).
    pub tally: Arc<Tally>,
}

/// The bytes of the messages one side of a stream sent and read, whatever the flow control.
#[derive(Debug, Default)]
pub struct Tally {
    sent: AtomicU64,
    read: AtomicU64,
}

impl Tally {
    /// Bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

impl Flow {
    /// Both ends in one process: `(client side, server side)`, each one's reads granting the
    /// other's window directly.
    pub fn pair(size: u32) -> (Flow, Flow) {
        let (requests, responses) = (Window::new(size), Window::new(size));
        let client = Flow {
            window: Some(requests.clone()),
            credit: Some(Credit::to(responses.clone(), size)),
            tally: Arc::default(),
        };
        let server = Flow {
            window: Some(responses),
            credit: Some(Credit::to(requests, size)),
            tally: Arc::default(),
        };
        (client, server)
    }

    /// Releases every sender waiting on this side's window (the stream has ended).
    pub fn close(&self) {
        if let Some(w) = &self.window {
            w.close();
        }
    }

    /// Takes credit for a send of `len` bytes, waiting until there is some or `cancel` fires.
    pub fn before_send(&self, len: usize, cancel: Option<&tokio_util::sync::CancellationToken>) {
        self.tally.sent.fetch_add(len as u64, Ordering::Relaxed);
        if let Some(w) = &self.window {
            w.acquire_blocking_until(len, cancel);
        }
    }

    /// [`before_send`](Flow::before_send) for async code: the task waits, no thread parks.
    pub async fn before_send_async(
        &self,
        len: usize,
        cancel: Option<&tokio_util::sync::CancellationToken>,
    ) {
        self.tally.sent.fetch_add(len as u64, Ordering::Relaxed);
        let Some(w) = &self.window else { return };
        match cancel {
            Some(c) => tokio::select! {
                _ = w.acquire(len) => {}
                _ = c.cancelled() => {}
            },
            None => w.acquire(len).await,
        }
    }

    /// Counts a read of `len` bytes.
    pub fn after_read(&self, len: usize) {
        self.tally.read.fetch_add(len as u64, Ordering::Relaxed);
        if let Some(c) = &self.credit {
            c.read(len);
        }
    }
}

/// Closes a [`Flow`]'s window when dropped: a task that ends, however it ends, releases the
/// senders waiting on it.
#[derive(Debug)]
pub struct CloseOnDrop(pub Flow);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A task forwarding a stream's messages (responses to the wire or to an in-process caller),
/// apart from the handler's task: a handler waiting for credit blocks only its own task, and the
/// credit comes back as these forwarded messages are read.
pub struct Forwarder {
    done: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Forwarder")
    }
}

/// The most messages [`forward`] hands to its writer at once.
const FORWARD_BATCH: usize = 64;

/// Forwards every message of `rx` through `write`, in order, on a task of its own. `write` gets
/// the messages that are waiting, up to 64 at a time (at least one), so a writer to a socket
/// can send a burst with one write instead of one per message.
pub fn forward<F, Fut>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<bytes::Bytes>,
    write: F,
) -> Forwarder
where
    F: Fn(Vec<bytes::Bytes>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (done, mut finished) = tokio::sync::oneshot::channel::<()>();
    let task = crate::runtime::handle().spawn(async move {
        loop {
            tokio::select! {
                biased;
                Some(b) = rx.recv() => {
                    let batch = gather(b, &mut rx).await;
                    write(batch).await
                }
                _ = &mut finished => break,
            }
        }
        while let Ok(b) = rx.try_recv() {
            write(take_waiting(b, &mut rx)).await;
        }
    });
    Forwarder {
        done: Some(done),
        task,
    }
}

/// `first` and the messages that come right behind it. While the batch is small, the task yields
/// once to let a producer on another thread queue more (what grpc-go's writer does before it
/// flushes a small batch): a burst then costs one write and no wake-up per message, and a lone
/// message waits only for the yield.
async fn gather(
    first: bytes::Bytes,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<bytes::Bytes>,
) -> Vec<bytes::Bytes> {
    let mut batch = take_waiting(first, rx);
    if batch.len() < FORWARD_BATCH && batch.iter().map(|b| b.len()).sum::<usize>() < SMALL_BATCH {
        tokio::task::yield_now().await;
        while batch.len() < FORWARD_BATCH {
            match rx.try_recv() {
                Ok(b) => batch.push(b),
                Err(_) => break,
            }
        }
    }
    batch
}

/// Below this many bytes, [`gather`] yields once for more.
const SMALL_BATCH: usize = 16 * 1024;

/// `first` and the messages already waiting behind it, up to [`FORWARD_BATCH`].
fn take_waiting(
    first: bytes::Bytes,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<bytes::Bytes>,
) -> Vec<bytes::Bytes> {
    let mut batch = vec![first];
    while batch.len() < FORWARD_BATCH {
        match rx.try_recv() {
            Ok(b) => batch.push(b),
            Err(_) => break,
        }
    }
    batch
}

impl Forwarder {
    /// Forwards what was queued so far, then stops (the call has ended).
    pub async fn finish(mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The receive window each side offers per stream, in bytes: 1 MiB (HTTP/2's default is 64 KiB;
/// a larger one keeps a fast local stream from waiting on credit).
pub const STREAM_WINDOW: u32 = 1024 * 1024;

/// A sender's credit for one direction of one stream.
#[derive(Debug)]
pub struct Window {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    credit: i64,
    closed: bool,
}

impl Window {
    /// A window of `initial` bytes.
    pub fn new(initial: u32) -> Arc<Window> {
        Arc::new(Window {
            state: Mutex::new(State {
                credit: i64::from(initial),
                closed: false,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The receiver has read `bytes` more.
    pub fn grant(&self, bytes: u64) {
        let mut st = self.state();
        st.credit = st
            .credit
            .saturating_add(i64::try_from(bytes).unwrap_or(i64::MAX));
        drop(st);
        self.changed.notify_waiters();
    }

    /// The stream has ended: no sender waits any more.
    pub fn close(&self) {
        self.state().closed = true;
        self.changed.notify_waiters();
    }

    /// Takes `len` bytes of credit if there is any (a message may overdraw the window by
    /// itself, so one larger than the window still goes); false to wait.
    fn try_take(&self, len: usize) -> bool {
        let mut st = self.state();
        if st.closed || st.credit > 0 {
            st.credit -= i64::try_from(len).unwrap_or(i64::MAX);
            return true;
        }
        false
    }

    /// Waits for credit, then takes `len` bytes of it (at once when the stream has ended: the
    /// send then fails on its own).
    pub async fn acquire(&self, len: usize) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.try_take(len) {
                return;
            }
            changed.await;
        }
    }

    /// [`acquire`](Window::acquire) from synchronous code: a binding's thread parks; on a
    /// multi-thread runtime's worker the worker's other tasks move aside first. On a
    /// current-thread runtime, where waiting would deadlock, it takes the credit without
    /// waiting (the buffer is then unbounded, as without flow control).
    pub fn acquire_blocking(&self, len: usize) {
        self.acquire_blocking_until(len, None);
    }

    /// [`acquire_blocking`](Window::acquire_blocking) that stops waiting when `cancel` fires.
    pub fn acquire_blocking_until(
        &self,
        len: usize,
        cancel: Option<&tokio_util::sync::CancellationToken>,
    ) {
        if self.try_take(len) {
            return;
        }
        let wait = async {
            match cancel {
                Some(c) => tokio::select! {
                    _ = self.acquire(len) => {}
                    _ = c.cancelled() => {}
                },
                None => self.acquire(len).await,
            }
        };
        if crate::runtime::block_on(wait).is_err() {
            let mut st = self.state();
            st.credit -= i64::try_from(len).unwrap_or(i64::MAX);
        }
    }
}

/// A receiver's side: counts the bytes read and gives them back to the sender in batches of
/// half a window, through `give` (a `WINDOW` frame, or the peer's [`Window`] directly).
pub struct Credit {
    read: AtomicU64,
    batch: u64,
    give: Box<dyn Fn(u64) + Send + Sync>,
}

impl std::fmt::Debug for Credit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credit")
            .field("read", &self.read.load(Ordering::Relaxed))
            .finish()
    }
}

impl Credit {
    /// Credit for a window of `window` bytes, given back through `give`.
    pub fn new(window: u32, give: impl Fn(u64) + Send + Sync + 'static) -> Arc<Credit> {
        Arc::new(Credit {
            read: AtomicU64::new(0),
            batch: u64::from(window / 2).max(1),
            give: Box::new(give),
        })
    }

    /// Credit that grants `window` directly (both ends in one process).
    pub fn to(window: Arc<Window>, size: u32) -> Arc<Credit> {
        Credit::new(size, move |n| window.grant(n))
    }

    /// The receiver has read a message of `len` bytes.
    pub fn read(&self, len: usize) {
        let len = len.max(1) as u64;
        let total = self.read.fetch_add(len, Ordering::AcqRel) + len;
        if total >= self.batch {
            let given = self.read.swap(0, Ordering::AcqRel);
            if given > 0 {
                (self.give)(given);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_sender_waits_for_credit_and_a_reader_gives_it_back() {
        let window = Window::new(10);
        let credit = Credit::to(window.clone(), 10);
        window.acquire_blocking(8);
        window.acquire_blocking(8); // overdraws: credit is -6 now
        let (tx, rx) = std::sync::mpsc::channel();
        let w = window.clone();
        let sender = std::thread::spawn(move || {
            w.acquire_blocking(1);
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "no credit yet"
        );
        credit.read(4); // below the batch of 5: nothing given back
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        credit.read(4); // 8 given back: credit 2
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the sender went on");
        sender.join().unwrap(); // it has sent: the join returns at once
    }

    #[test]
    fn closing_releases_every_waiting_sender() {
        let window = Window::new(1);
        window.acquire_blocking(5);
        let w = window.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            w.acquire_blocking(1);
            tx.send(()).unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
        window.close();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("closing released the sender");
    }
}
