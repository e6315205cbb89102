//! Running one call on a client: its head checked (request metadata), the client interceptors
//! around the transport call, the deadline and cancellation, its metrics and its client span —
//! ended with the call, or (a stream) handed to the stream to end with it.

use std::time::Instant;

use super::send::send;
use super::tracked::{self, Head, Meter, Span};
use super::Client;
use crate::call::{CallHead, Watch};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::interceptor::{run_after, run_before};

impl Client {
    /// Runs the client interceptors (if any) around a transport call, with the deadline,
    /// counted in the method's metrics and recorded as a client span when sampled.
    pub(super) async fn run<'a, T>(
        &'a self,
        head: Head,
        fut: impl FnOnce(CallHead, Meter<'a>) -> crate::handler::BoxFuture<'a, Result<T>>,
    ) -> Result<T> {
        let (result, tracked) = self.run_open(head, fut).await;
        self.end(tracked, result.as_ref().map(|_| ()));
        result
    }

    /// [`run`](Client::run) but for its end: the caller ends the call's metrics and span
    /// (a stream, when it ends).
    pub(super) async fn run_open<'a, T>(
        &'a self,
        (mut head, cancel, trace): Head,
        fut: impl FnOnce(CallHead, Meter<'a>) -> crate::handler::BoxFuture<'a, Result<T>>,
    ) -> (Result<T>, tracked::Tracked<'a>) {
        let closed = &self.inner.closed;
        let tracked = self.begin(&head.method, trace);
        let meter = tracked.meter();
        let fut = move |head| fut(head, meter);
        let (ctx, start, before) = match self.before(&mut head, &tracked.span) {
            Ok(Some(with)) => with,
            Ok(None) => return (send(head, cancel, closed, fut).await, tracked),
            Err(e) => return (Err(e), tracked),
        };
        let result = match before {
            Err(e) => Err(e),
            Ok(()) => send(head, cancel, closed, fut).await,
        };
        let outcome = result.as_ref().map(|_| ());
        run_after(&self.inner.interceptors, &ctx, outcome, start.elapsed());
        (result, tracked)
    }

    /// [`run`](Client::run) for a blocking caller: `call` runs on the calling thread until
    /// the [`Watch`] (cancellation, close, deadline) ends it.
    pub(super) fn run_blocking<T>(
        &self,
        (mut head, cancel, trace): Head,
        call: impl FnOnce(CallHead, &Watch, Meter<'_>) -> Result<T>,
    ) -> Result<T> {
        let tracked = self.begin(&head.method, trace);
        let meter = tracked.meter();
        let send = |head: CallHead| {
            let watch = Watch {
                cancel,
                closed: self.inner.closed.clone(),
                deadline: head.timeout.map(|t| Instant::now() + t),
            };
            watch
                .stopped()
                .map_or_else(|| call(head, &watch, meter), Err)
        };
        let (ctx, start, before) = match self.before(&mut head, &tracked.span) {
            Ok(Some(with)) => with,
            Ok(None) => {
                let result = send(head);
                self.end(tracked, result.as_ref().map(|_| ()));
                return result;
            }
            Err(e) => {
                self.end(tracked, Err(&e));
                return Err(e);
            }
        };
        let result = match before {
            Err(e) => Err(e),
            Ok(()) => send(head),
        };
        let outcome = result.as_ref().map(|_| ());
        run_after(&self.inner.interceptors, &ctx, outcome, start.elapsed());
        self.end(tracked, outcome);
        result
    }

    /// Refuses a call on a closed client, then runs the interceptors' `before`, which may
    /// refuse it too or change the head's metadata. Their context has the call's trace (a new
    /// one, sent along, if the call had none). `None`: there are no interceptors.
    fn before(
        &self,
        head: &mut CallHead,
        span: &Span,
    ) -> Result<Option<(Context, Instant, Result<()>)>> {
        if self.inner.closed.is_cancelled() {
            return Err(Error::client_closed());
        }
        crate::metadata::check_request(&head.metadata)?;
        let chain = &self.inner.interceptors;
        if chain.is_empty() {
            return Ok(None);
        }
        let start = Instant::now();
        let mut ctx = Context::new(head.method.clone(), "client", self.inner.endpoint.clone());
        ctx.metadata = head.metadata.clone();
        ctx.deadline = head.timeout.map(|t| start + t);
        match span {
            Some(trace) => ctx.set_trace(trace.clone()),
            None => {
                ctx.finish_setup("");
                ctx.trace.inject(&mut ctx.metadata);
            }
        }
        let mut before = run_before(chain, &mut ctx);
        if before.is_ok() {
            // What an interceptor added is checked as the caller's own.
            before = crate::metadata::check_request(&ctx.metadata);
            head.metadata = ctx.metadata.clone();
        }
        Ok(Some((ctx, start, before)))
    }
}
