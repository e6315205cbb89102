//! The shared tokio runtime used when the caller is not inside one (every language binding).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::error::{Code, Error, Result};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime hms-ffi starts on first use (two worker threads at least).
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("hms-ffi-worker")
            .on_thread_start(block_sigpipe)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("hms-ffi cannot start its runtime: {e}"))
    })
}

/// Keeps a write to a socket whose peer has gone from raising `SIGPIPE` on the calling thread:
/// the write fails `EPIPE`, which the transport reports as a lost connection. Called at the
/// start of every thread hms-ffi starts that writes to sockets (the runtime's, a `unix://`
/// connection's), and through [`guard_thread`] on a host's thread that makes a blocking call or
/// runs a task. The signal is blocked on those threads only, so the process's disposition
/// stays as the host set it; this matters where the host does not ignore `SIGPIPE` — a Go
/// program, whose runtime ends the process when the signal comes on a thread it did not start
/// or on one inside a C call. (A write to a broken pipe on a host thread that made hms-ffi
/// calls then fails `EPIPE` instead of raising the signal.)
#[allow(unsafe_code)]
pub(crate) fn block_sigpipe() {
    // SAFETY: the set is a local initialised by sigemptyset before use, and pthread_sigmask
    // changes the calling thread's mask only (no memory is shared with it).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// [`block_sigpipe`] on the calling thread, once per thread (a thread-local check after that).
pub(crate) fn guard_thread() {
    thread_local! {
        static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    GUARDED.with(|g| {
        if !g.get() {
            g.set(true);
            block_sigpipe();
        }
    });
}

/// Whether the machine has more than one core, so that a thread polling for work (a bounded
/// spin before it blocks) leaves one for the thread that makes the work.
pub fn spare_core() -> bool {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get())) > 1
}

/// How long a thread that waits for a local reply or call polls before it blocks (when such
/// waits lately ended that soon and [`spare_core`] is true): 100 µs, or `HMS_FFI_SPIN_US`
/// microseconds from the environment (`0` turns polling off). A wake-up from a blocking wait
/// costs tens of microseconds on a VM; polling trades that for up to this much CPU time per
/// wait.
pub fn spin_time() -> std::time::Duration {
    static SPIN: OnceLock<std::time::Duration> = OnceLock::new();
    *SPIN.get_or_init(|| {
        let us = std::env::var("HMS_FFI_SPIN_US")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(100);
        std::time::Duration::from_micros(us)
    })
}

/// Whether `unix://` server connections get threads of their own, which read calls, run
/// handlers that can run on any thread and write replies without a runtime thread in between:
/// yes, unless `HMS_FFI_SERVER_THREADS=0` is in the environment (for comparisons).
pub fn server_threads() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("HMS_FFI_SERVER_THREADS").map_or(true, |v| v.trim() != "0"))
}

thread_local! {
    static OWN_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as one of hms-ffi's own (a connection's reading thread): it has
/// the runtime's context, yet may block, unlike a runtime worker.
pub(crate) fn mark_own_thread() {
    OWN_THREAD.with(|o| o.set(true));
}

/// Whether the calling thread may block although it has a runtime's context (see
/// [`mark_own_thread`]).
pub(crate) fn own_thread() -> bool {
    OWN_THREAD.with(|o| o.get())
}

/// The runtime of the caller if it is inside one, else the shared runtime.
pub fn handle() -> Handle {
    Handle::try_current().unwrap_or_else(|_| runtime().handle().clone())
}

/// Runs a future to completion from synchronous code.
///
/// Outside a runtime it runs on the calling thread, with I/O driven by the shared runtime.
/// Inside a multi-thread runtime it moves the worker aside (`block_in_place`). Inside a
/// current-thread runtime blocking would deadlock, so it returns `FailedPrecondition`.
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    guard_thread();
    match Handle::try_current() {
        Err(_) => Ok(runtime().block_on(f)),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| h.block_on(f)))
        }
        Ok(_) => Err(Error::new(
            Code::FailedPrecondition,
            "a blocking hms-ffi call inside a current-thread tokio runtime would deadlock; use the async API",
        )),
    }
}

/// Polls `fut` once, in the shared runtime's context, on the calling thread: its output when it
/// completes without waiting, else `None` (and `fut` is dropped). For a binding that must not
/// run its own handlers during a wait that turns out to be needless (PHP's one thread).
pub fn now_or_never<F: Future>(fut: F) -> Option<F::Output> {
    // A zero timeout polls the future once before it looks at the clock.
    block_on(async {
        tokio::time::timeout(std::time::Duration::ZERO, fut)
            .await
            .ok()
    })
    .ok()
    .flatten()
}

/// Runs `fut` as a task of the caller's runtime (or the shared one) that is polled first on
/// the calling thread, where whatever it can do at once (encoding and writing a request, running
/// a handler that is ready at once and writing its reply) is done before any hand-off. When it
/// waits, what wakes it decides where it goes on: a reply handed over by a binding's own thread
/// (a queued call's `reply`, a [`LaterReply`](crate::later::LaterReply)) finishes it on that
/// thread; anything else on the runtime. For callers on a thread of their own, such as Node's
/// event loop or a `unix://` connection's thread. True when it finished on the calling thread.
pub fn spawn_eager<F>(fut: F) -> bool
where
    F: Future<Output = ()> + Send + 'static,
{
    crate::eager::start(handle(), fut)
}

/// A task that is aborted when this handle is dropped.
#[derive(Debug)]
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` as a task on the caller's runtime, or the shared one, and waits for it; dropping
/// the wait aborts the task. For futures polled by a foreign executor (UniFFI's async exports),
/// whose threads have no tokio context. A task that panicked is `Internal`.
pub async fn spawn_and_wait<T, F>(fut: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let mut task = AbortOnDrop(handle().spawn(fut));
    match (&mut task.0).await {
        Ok(r) => r,
        Err(e) => Err(Error::new(Code::Internal, format!("call task failed: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn dropping_the_wait_aborts_the_task() {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let wait = spawn_and_wait(async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        // The wait is polled (the task starts), then dropped when the timeout ends it.
        runtime().block_on(async {
            let waited = tokio::time::timeout(Duration::from_millis(20), wait).await;
            assert!(waited.is_err(), "the task cannot have finished");
        });
        let until = Instant::now() + Duration::from_secs(5);
        while !dropped.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(dropped.load(Ordering::SeqCst), "the task was not aborted");
    }

    #[test]
    fn spawn_eager_starts_on_the_calling_thread_and_finishes_on_the_runtime() {
        let here = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        spawn_eager(async move {
            let first = std::thread::current().id();
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = tx.send((first, std::thread::current().id()));
        });
        let (first, last) = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the task ended");
        assert_eq!(first, here, "the first poll runs on the caller's thread");
        assert_ne!(last, here, "the rest runs on the runtime");
    }

    #[test]
    fn a_panic_in_a_task_is_internal() {
        let task = runtime().block_on(spawn_and_wait(async {
            if Instant::now().elapsed() < Duration::from_secs(3600) {
                panic!("boom in a task");
            }
            Ok(())
        }));
        assert_eq!(task.map_err(|e| e.code()), Err(Code::Internal));
    }
}
