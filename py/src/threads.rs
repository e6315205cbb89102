//! Python thread states for hms-ffi's own threads.
//!
//! Taking the GIL on a thread Python does not know creates a thread state, and giving it back
//! destroys it — with its frame stack, which CPython maps and unmaps (one `mmap` and one
//! `munmap` per handler call, measured with strace). A handler thread (a connection's reading
//! thread, a blocking-pool thread) keeps one thread state for its whole life instead, so each
//! later `Python::attach` there only takes the GIL; the state is given back when the thread
//! ends, so threads that come and go (a connection's, the pool's after their idle time) leave
//! nothing behind.

use pyo3::ffi;

/// Makes sure the calling thread has a Python thread state that outlives this call. Call it
/// without the GIL; a thread that already has one (a Python thread) is left as it is.
pub(crate) fn keep_thread_state() {
    thread_local! {
        static KEPT: Kept = Kept::ensure();
    }
    KEPT.with(|_| ());
}

/// The thread state this thread made for itself (none on a thread Python started, whose state
/// Python owns), given back when the thread ends.
struct Kept(Option<(ffi::PyGILState_STATE, *mut ffi::PyThreadState)>);

#[allow(unsafe_code)]
impl Kept {
    fn ensure() -> Kept {
        // SAFETY: called without the GIL (see `keep_thread_state`); asking for this thread's
        // state needs no GIL. On a thread without one, `PyGILState_Ensure` takes the GIL,
        // creating the state, and counts one use, which keeps it until `drop` releases it;
        // `PyEval_SaveThread` then gives the GIL back, leaving the state registered for
        // `PyGILState_Ensure` to find.
        unsafe {
            if !ffi::PyGILState_GetThisThreadState().is_null() {
                return Kept(None);
            }
            let gil = ffi::PyGILState_Ensure();
            Kept(Some((gil, ffi::PyEval_SaveThread())))
        }
    }
}

#[allow(unsafe_code)]
impl Drop for Kept {
    fn drop(&mut self) {
        let Some((gil, state)) = self.0 else {
            return;
        };
        // SAFETY: the thread is ending, without the GIL (every use of it took and gave it back),
        // and the state is the one `ensure` made. `PyEval_RestoreThread` takes the GIL with it;
        // `PyGILState_Release` undoes `PyGILState_Ensure`, which destroys the state and gives the
        // GIL back. Once the interpreter is finalizing it frees every thread state itself:
        // nothing to do then.
        unsafe {
            if ffi::Py_IsInitialized() == 0 {
                return;
            }
            ffi::PyEval_RestoreThread(state);
            ffi::PyGILState_Release(gil);
        }
    }
}
