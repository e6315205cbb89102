//! What the server observes of each call at its end: the interceptors' `after` hooks (the
//! audit log), the method's metrics (finished by code with the latency, refused before the
//! handler, the recent refusals and peers of the monitoring page) and the call's server span
//! (recorded only when sampled).

use std::sync::Arc;

use super::dispatch::Dispatcher;
use crate::call::CallHead;
use crate::context::Context;
use crate::error::{Code, Error, Origin};
use crate::interceptor::{run_after, Interceptor};

impl Dispatcher {
    /// The end of a call: the interceptors' `after` hooks (the audit log), and the call's
    /// server span (recorded only when sampled).
    pub(crate) fn after(
        &self,
        chain: &[Arc<dyn Interceptor>],
        ctx: &Context,
        outcome: std::result::Result<(), &Error>,
        elapsed: std::time::Duration,
    ) {
        run_after(chain, ctx, outcome, elapsed);
        if let Some(m) = &ctx.metrics {
            let code = outcome.map_or_else(|e| e.code(), |()| Code::Ok);
            m.server(ctx.transport).finish(code, elapsed);
        }
        crate::metrics::recent::seen(ctx.transport, &ctx.peer, || {
            ctx.identity.as_deref().map(str::to_string)
        });
        crate::trace::finish(
            &ctx.trace,
            crate::trace::SpanKind::Server,
            elapsed,
            (&ctx.method, ctx.transport, &self.language),
            outcome.map_err(|e| (e.code(), e.message())),
        );
    }

    /// Where an error of this call comes from: this server's language, service and method.
    pub(super) fn origin(&self, head: &CallHead) -> Origin {
        let (service, method) = head
            .method
            .rsplit_once('/')
            .unwrap_or(("", head.method.as_str()));
        Origin {
            language: self.language.clone(),
            service: service.to_string(),
            method: method.to_string(),
        }
    }

    /// Counts a call refused before its handler ran.
    pub(super) fn rejected(&self, ctx: &Context, e: &Error) {
        if let Some(m) = &ctx.metrics {
            m.server(ctx.transport).reject(e.code());
        }
        let (method, transport) = (&ctx.method, ctx.transport);
        crate::metrics::recent::refused(method, transport, &ctx.peer, e.code(), e.message());
    }
}
