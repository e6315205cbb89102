//! Python thread states for hms-ffi's own threads.
//!
//! Taking the GIL on a thread Python does not know creates a thread state, and giving it back
//! destroys it — with its frame stack, which CPython maps and unmaps (one `mmap` and one
//! `munmap` per handler call, measured with strace). A handler thread keeps one thread state for
//! its whole life instead, so each later `Python::attach` there only takes the GIL.

/// Makes sure the calling thread has a Python thread state that outlives this call. Call it
/// without the GIL; a thread that already has one (a Python thread) is left as it is.
pub(crate) fn keep_thread_state() {
    thread_local! {
        static KEPT: () = ensure_forever();
    }
    KEPT.with(|_| ());
}

#[allow(unsafe_code)]
fn ensure_forever() {
    // SAFETY: called without the GIL (see `keep_thread_state`). `PyGILState_Ensure` takes the
    // GIL, creating this thread's state if it has none, and counts one use; never calling
    // `PyGILState_Release` keeps the state until the thread ends. `PyEval_SaveThread` then
    // gives the GIL back, leaving the state registered for `PyGILState_Ensure` to find.
    unsafe {
        pyo3::ffi::PyGILState_Ensure();
        pyo3::ffi::PyEval_SaveThread();
    }
}
