//! How a handler runs: until it ends, its deadline passes or the call is cancelled
//! ([`Dispatcher::guarded`]), with a panic inside it turned into an `Internal` error instead of a
//! lost call ([`CatchPanic`]).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::dispatch::Dispatcher;
use crate::context::Context as CallContext;
use crate::error::{Code, Error, Result};

pub(crate) struct CatchPanic<F>(pub(crate) Pin<Box<F>>);

impl<T, F: Future<Output = Result<T>>> Future for CatchPanic<F> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let fut = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(p) => p,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Poll::Ready(Err(Error::new(
                    Code::Internal,
                    format!("handler panicked: {what}"),
                )))
            }
        }
    }
}

impl Dispatcher {
    /// Runs `fut` until it ends, the deadline passes, or the call is cancelled.
    pub(super) async fn guarded<T>(
        &self,
        ctx: &CallContext,
        fut: impl std::future::Future<Output = Result<T>> + Send,
    ) -> Result<T> {
        let fut = crate::context::Scoped::new(ctx, CatchPanic(Box::pin(fut)));
        let deadline = ctx.deadline;
        let sleep = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let deadline_passed = |r: Result<T>| match r {
            Err(e)
                if e.code() == Code::Cancelled
                    && !ctx.cancel.is_cancelled()
                    && deadline.is_some_and(|d| Instant::now() >= d) =>
            {
                Err(Error::deadline_exceeded())
            }
            other => other,
        };
        tokio::select! {
            biased;
            _ = sleep => Err(Error::deadline_exceeded()),
            r = fut => deadline_passed(r),
            _ = ctx.cancel.cancelled() => Err(if self.stop.is_cancelled() {
                Error::unavailable("server stopped").with_reason("SHUTTING_DOWN")
            } else {
                Error::cancelled()
            }),
        }
    }
}
