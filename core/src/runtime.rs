//! The shared tokio runtime used when the caller is not inside one (every language binding).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::error::{Error, Result};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime hms-ffi starts on first use (two worker threads at least).
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("hms-ffi-worker")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("hms-ffi cannot start its runtime: {e}"))
    })
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
    match Handle::try_current() {
        Err(_) => Ok(runtime().block_on(f)),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| h.block_on(f)))
        }
        Ok(_) => Err(Error::new(
            crate::Code::FailedPrecondition,
            "a blocking hms-ffi call inside a current-thread tokio runtime would deadlock; use the async API",
        )),
    }
}
