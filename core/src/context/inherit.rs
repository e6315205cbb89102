//! Deadline, cancellation and trace propagation: while a handler runs, its thread knows the
//! call's deadline, cancellation token and trace ([`Inherited`]); a client call made there
//! inherits the first two (the earlier deadline wins; cancelling the incoming call cancels the
//! outgoing one) unless its options say `detach`, and is always a child span of the call's.
//! The server sets it around every poll of a handler's future and around a blocking handler's
//! body; a binding that runs a handler on a thread of its own calls [`Context::enter`] there.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::Context;
use crate::trace::CallTrace;

/// What a call made inside a handler inherits from it.
#[derive(Debug, Clone)]
pub struct Inherited {
    /// The incoming call's deadline.
    pub deadline: Option<Instant>,
    /// Cancelled when the incoming call is.
    pub cancel: CancellationToken,
    /// The incoming call's trace: an outgoing call is a child of its span.
    pub trace: Option<CallTrace>,
}

thread_local! {
    static CURRENT: Cell<Option<Inherited>> = const { Cell::new(None) };
}

/// The deadline and cancellation of the handler running on this thread, if any.
pub fn inherited() -> Option<Inherited> {
    CURRENT.with(|c| {
        let now = c.take();
        let copy = now.clone();
        c.set(now);
        copy
    })
}

/// Restores the thread's previous [`Inherited`] when dropped.
#[derive(Debug)]
pub struct Entered {
    previous: Option<Inherited>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| c.set(previous));
    }
}

impl Context {
    /// What calls made from this handler inherit.
    pub fn inherited(&self) -> Inherited {
        Inherited {
            deadline: self.deadline,
            cancel: self.cancel.clone(),
            trace: (!self.trace.trace_id.is_zero()).then(|| self.trace.clone()),
        }
    }

    /// Makes this call's deadline and cancellation the ones calls made on this thread inherit,
    /// until the guard is dropped (for a binding that runs a handler on its own thread).
    pub fn enter(&self) -> Entered {
        let previous = CURRENT.with(|c| c.replace(Some(self.inherited())));
        Entered { previous }
    }
}

/// A handler's future, polled with its call's [`Inherited`] set on the polling thread.
pub(crate) struct Scoped<F> {
    inherited: Option<Inherited>,
    fut: F,
}

impl<F> Scoped<F> {
    pub(crate) fn new(ctx: &Context, fut: F) -> Scoped<F> {
        Scoped {
            inherited: Some(ctx.inherited()),
            fut,
        }
    }
}

impl<F: Future + Unpin> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let previous = CURRENT.with(|c| c.replace(this.inherited.take()));
        let out = Pin::new(&mut this.fut).poll(cx);
        this.inherited = CURRENT.with(|c| c.replace(previous));
        out
    }
}
