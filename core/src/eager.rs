//! Tasks that run where their work is: polled first on the thread that starts them, and
//! finished on the thread that hands over what they wait for, when that thread is a binding's
//! own (a Ruby or PHP serving thread answering a queued call, Node's event loop, an asyncio
//! thread, a C handler's thread) — so a handler's reply is encoded and written by the thread
//! that made it, with no runtime thread woken in between. A wake-up from anywhere else (a
//! runtime worker, a timer, a cancellation) polls the task on the runtime instead.
//!
//! Polling a task inside someone else's `wake` is only safe where that code holds none of the
//! locks the task takes. So it happens only inside [`handing_over`], which the core's
//! reply hand-overs ([`crate::later::LaterReply::send`], `PendingCall::reply`) wrap around
//! their send, where nothing is held.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio::runtime::Handle;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

const IDLE: u8 = 0;
const POLLING: u8 = 1;
/// Woken while being polled: the poller polls again.
const NOTIFIED: u8 = 2;
const DONE: u8 = 3;

thread_local! {
    static HANDING_OVER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `send` (a reply's hand-over to the task waiting for it) so that the waiting task, if
/// it is an eager one, goes on right here. Call it holding no lock the task could take.
pub(crate) fn handing_over<T>(send: impl FnOnce() -> T) -> T {
    let before = HANDING_OVER.with(|h| h.replace(true));
    let out = send();
    HANDING_OVER.with(|h| h.set(before));
    out
}

struct Task {
    job: Mutex<Option<Job>>,
    state: AtomicU8,
    handle: Handle,
}

/// Starts `fut` on the calling thread (see the module docs): it runs until it first waits,
/// here; what wakes it later decides where it goes on. True when it finished here.
pub(crate) fn start(handle: Handle, fut: impl Future<Output = ()> + Send + 'static) -> bool {
    let task = Arc::new(Task {
        job: Mutex::new(Some(Box::pin(fut))),
        state: AtomicU8::new(IDLE),
        handle,
    });
    task.run();
    task.state.load(Ordering::Acquire) == DONE
}

impl Task {
    /// Polls the job on this thread unless another thread is polling it (which then polls
    /// again) or it is done.
    fn run(self: &Arc<Self>) {
        // The thread may be the host's: a write the task makes here must not raise SIGPIPE.
        crate::runtime::guard_thread();
        let mut seen = self.state.load(Ordering::Acquire);
        loop {
            let next = match seen {
                IDLE => POLLING,
                POLLING => NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(seen, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == NOTIFIED => return,
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let _enter = self.handle.enter();
        // A nested wake-up (from inside this poll) must not poll again inside it.
        let outer = HANDING_OVER.with(|h| h.replace(false));
        loop {
            let ready = {
                let mut job = self.job.lock().unwrap_or_else(|p| p.into_inner());
                let ready = job
                    .as_mut()
                    .is_none_or(|f| matches!(f.as_mut().poll(&mut cx), Poll::Ready(())));
                if ready {
                    *job = None;
                }
                ready
            };
            if ready {
                self.state.store(DONE, Ordering::Release);
                break;
            }
            if self
                .state
                .compare_exchange(POLLING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break;
            }
            // Woken meanwhile: poll again.
            self.state.store(POLLING, Ordering::Release);
        }
        HANDING_OVER.with(|h| h.set(outer));
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if HANDING_OVER.with(Cell::get) {
            return self.run();
        }
        let task = self.clone();
        self.handle.spawn(async move { task.run() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Which thread sent the value a task waited for, and which thread the task went on on.
    fn finished_on(hand_over: bool) -> (std::thread::ThreadId, std::thread::ThreadId) {
        let handle = crate::runtime::runtime().handle().clone();
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel::<u32>();
        let (tx, rx) = std::sync::mpsc::channel();
        start(handle, async move {
            let v = reply_rx.await.unwrap();
            tx.send((v, std::thread::current().id())).unwrap();
        });
        let replier = std::thread::spawn(move || {
            if hand_over {
                handing_over(|| reply_tx.send(7)).unwrap();
            } else {
                reply_tx.send(7).unwrap();
            }
            std::thread::current().id()
        })
        .join()
        .unwrap();
        let (v, ran_on) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(v, 7);
        (replier, ran_on)
    }

    #[test]
    fn a_handed_over_reply_finishes_the_task_on_the_replying_thread() {
        let (replier, ran_on) = finished_on(true);
        assert_eq!(replier, ran_on);
    }

    #[test]
    fn any_other_wake_up_finishes_it_on_the_runtime() {
        let (replier, ran_on) = finished_on(false);
        assert_ne!(replier, ran_on);
    }

    #[test]
    fn a_task_ready_at_once_runs_on_the_starting_thread_only() {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let here = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        start(crate::runtime::runtime().handle().clone(), async move {
            p.fetch_add(1, Ordering::SeqCst);
            tx.send(std::thread::current().id()).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), here);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    }
}
