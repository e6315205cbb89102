//! Running Rust code without the GVL, so other Ruby threads run while a call or `serve` waits.
//!
//! `rb_thread_call_without_gvl2` is used rather than `rb_thread_call_without_gvl`: it never
//! raises (no `longjmp` across Rust frames); the caller checks Ruby's interrupts afterwards
//! with `Ruby::thread_check_ints`, which raises them as ordinary `magnus::Error`s.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

struct Job<F, R> {
    f: Option<F>,
    out: Option<std::thread::Result<R>>,
}

unsafe extern "C" fn run<F: FnOnce() -> R, R>(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is the `Job` that `without_gvl` keeps alive for the whole call.
    let job = unsafe { &mut *data.cast::<Job<F, R>>() };
    if let Some(f) = job.f.take() {
        job.out = Some(catch_unwind(AssertUnwindSafe(f)));
    }
    std::ptr::null_mut()
}

unsafe extern "C" fn unblock<U: Fn() + Sync>(data: *mut c_void) {
    // SAFETY: `data` is the `U` that `without_gvl` borrows for the whole call.
    let u = unsafe { &*data.cast_const().cast::<U>() };
    // Ruby may call this from another thread while `run` is still going: `U` is `Sync`.
    let _ = catch_unwind(AssertUnwindSafe(u));
}

/// Runs `f` with the GVL released. `unblock` is called (from another thread) when Ruby wants
/// this thread back (an interrupt, `Thread#raise`, `Thread#kill`): it must make `f` return soon.
/// Returns `None` when `f` did not run because an interrupt was already pending; the caller
/// then checks interrupts. `f` must not touch any Ruby object.
pub(crate) fn without_gvl<F, R, U>(f: F, unblock_fn: &U) -> Option<R>
where
    F: FnOnce() -> R,
    U: Fn() + Sync,
{
    let mut job = Job {
        f: Some(f),
        out: None,
    };
    // SAFETY: both pointers outlive the call, which returns only after `run` has finished;
    // `run` and `unblock` match the C signatures Ruby expects.
    unsafe {
        rb_sys::rb_thread_call_without_gvl2(
            Some(run::<F, R>),
            (&mut job as *mut Job<F, R>).cast(),
            Some(unblock::<U>),
            (unblock_fn as *const U).cast_mut().cast(),
        );
    }
    match job.out {
        Some(Ok(r)) => Some(r),
        Some(Err(panic)) => resume_unwind(panic),
        None => None,
    }
}
