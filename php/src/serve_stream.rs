//! Running a PHP streaming handler on the serving thread, by the method's kind:
//! server-streaming `(array $request, Context $ctx): iterable`, client-streaming
//! `(Requests $requests, Context $ctx): array`, bidi `(Requests $requests, Context $ctx):
//! iterable`. Each reply the handler's iterable (a `Generator`, usually) yields is sent as the
//! caller reads it (flow control); what the handler throws ends the call after the replies
//! sent before it.

use std::sync::Arc;

use ext_php_rs::convert::{FromZvalMut, IntoZval};
use ext_php_rs::types::{Iterable, ZendCallable, Zval};

use crate::context::Context;
use crate::converters::{self, Convs};
use crate::ocore::{self, Code, ServerStream, StreamingKind};
use crate::pump::{from_fail, pending_error, request_for_handler};
use crate::stream::{at_once_or_until, until, Requests};

fn internal(what: String) -> ocore::Error {
    ocore::Error::new(Code::Internal, what)
}

/// Sends one reply the handler gave, waiting for the caller's window.
fn send(stream: &Arc<ServerStream>, reply: &Zval, convs: &Convs) -> ocore::Result<()> {
    let bytes = converters::stream_reply(stream, convs, reply)
        .map_err(|f| from_fail(f, "a reply could not be read"))??;
    at_once_or_until(|| {
        let (stream, bytes) = (stream.clone(), bytes.clone());
        async move { stream.send_encoded_async(bytes).await }
    })
}

/// Sends every reply of the iterable the handler returned.
fn send_all(
    kind: StreamingKind,
    stream: &Arc<ServerStream>,
    replies: &mut Zval,
    convs: &Convs,
) -> ocore::Result<()> {
    let not_iterable = || {
        internal(format!(
            "a {} handler returns its replies (a Generator or an iterable), not one reply",
            kind.name()
        ))
    };
    if replies.array().is_some_and(|a| !crate::convert::is_list(a)) {
        return Err(not_iterable());
    }
    let mut replies = Iterable::from_zval_mut(replies).ok_or_else(not_iterable)?;
    let iter = replies
        .iter()
        .ok_or_else(|| pending_error("the handler's replies cannot be iterated"))?;
    for (_, reply) in iter {
        send(stream, &reply, convs)?;
    }
    // A Generator that threw ends its iteration; its exception is pending.
    match ext_php_rs::zend::ExecutorGlobals::has_exception() {
        true => Err(pending_error("the handler's replies failed")),
        false => Ok(()),
    }
}

/// Runs `handler` on one streaming call.
pub(crate) fn invoke(
    handler: &ZendCallable,
    kind: StreamingKind,
    stream: ServerStream,
    ctx: &ocore::Context,
    convs: &Convs,
) -> ocore::Result<()> {
    let stream = Arc::new(stream);
    // Calls the handler makes (and its reply generator) inherit the call's deadline,
    // cancellation and trace.
    let _entered = ctx.enter();
    let ctx = Context::from(ctx.clone())
        .into_zval(false)
        .map_err(|e| internal(e.to_string()))?;
    let input = match kind {
        StreamingKind::ServerStreaming => {
            let s = stream.clone();
            let first = until(async move { s.first_bytes().await })?;
            request_for_handler(stream.exchange(), &first, convs)?
        }
        _ => Requests::new(stream.clone(), convs.clone())
            .into_zval(false)
            .map_err(|e| internal(e.to_string()))?,
    };
    let mut out = handler
        .try_call(vec![&input, &ctx])
        .map_err(|e| pending_error(&format!("the handler could not be called: {e}")))?;
    match kind {
        StreamingKind::ClientStreaming => send(&stream, &out, convs),
        _ => send_all(kind, &stream, &mut out, convs),
    }
}
