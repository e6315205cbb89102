//! Interceptors: an ordered chain around every call, on the client and on the server.
//!
//! Authentication, authorization, audit, tracing, metrics and limits are interceptors.

use std::time::Duration;

use crate::context::Context;
use crate::error::{Error, Result};

/// A hook run around every call. `before` runs in registration order and may refuse the call
/// (the handler then never runs) or change the context (metadata, identity); `after` runs in
/// reverse order with the outcome.
pub trait Interceptor: Send + Sync + 'static {
    /// Called before the call is sent (client) or before the handler runs (server).
    fn before(&self, ctx: &mut Context) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called once the call is finished, with its outcome and how long it took.
    fn after(&self, ctx: &Context, outcome: std::result::Result<(), &Error>, elapsed: Duration) {
        let _ = (ctx, outcome, elapsed);
    }
}

/// An interceptor from a closure run before each call.
pub fn before_fn<F>(f: F) -> impl Interceptor
where
    F: Fn(&mut Context) -> Result<()> + Send + Sync + 'static,
{
    struct BeforeFn<F>(F);
    impl<F: Fn(&mut Context) -> Result<()> + Send + Sync + 'static> Interceptor for BeforeFn<F> {
        fn before(&self, ctx: &mut Context) -> Result<()> {
            (self.0)(ctx)
        }
    }
    BeforeFn(f)
}

pub(crate) fn run_before(
    chain: &[std::sync::Arc<dyn Interceptor>],
    ctx: &mut Context,
) -> Result<()> {
    for i in chain {
        i.before(ctx)?;
    }
    Ok(())
}

pub(crate) fn run_after(
    chain: &[std::sync::Arc<dyn Interceptor>],
    ctx: &Context,
    outcome: std::result::Result<(), &Error>,
    elapsed: Duration,
) {
    for i in chain.iter().rev() {
        i.after(ctx, outcome, elapsed);
    }
}
