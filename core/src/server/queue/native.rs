//! Queued calls for a binding that walks its own objects: the serving thread gets a unary
//! call's request as bytes with the route's [`Exchange`], makes its request objects from them
//! ([`Exchange::request`]) and answers with the bytes [`Exchange::reply`] walked from its reply
//! objects — so an interpreter that must run every handler on its own thread (Ruby's `serve`)
//! builds no `Value` tree either way, as a [`NativeHandler`] on the reading thread does.
//!
//! The rules stay with the route: limits, decoding options and a bad reply being `Internal`
//! are the [`Exchange`]'s, exactly as for a value handler.

use std::sync::Arc;

use bytes::Bytes;

use super::{CallQueue, PendingCall, QueuedHandler};
use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::handler::{BoxFuture, NativeHandler, Route};
use crate::schema::StreamingKind;
use crate::value::Value;
use crate::{Exchange, Server};

impl PendingCall {
    /// Takes a native call's request bytes and the exchange that makes them into the binding's
    /// objects and walks its reply into bytes (`None` for a value or streaming call, or taken
    /// twice). Answer it with [`reply_bytes`](PendingCall::reply_bytes).
    pub fn take_native(&mut self) -> Option<(Bytes, Arc<Exchange>)> {
        self.native.take()
    }

    /// Answers a native call with its reply's bytes, as [`Exchange::reply`] made them, or the
    /// error.
    pub fn reply_bytes(self, result: Result<Bytes>) {
        self.answer(result.map(Answer::Bytes));
    }
}

/// What the serving thread answers a call with: a value, or a native call's reply bytes.
#[derive(Debug)]
pub(super) enum Answer {
    Value(Value),
    Bytes(Bytes),
}

impl Answer {
    /// The value of a call queued with a value.
    pub(super) fn into_value(self) -> Result<Value> {
        match self {
            Answer::Value(v) => Ok(v),
            Answer::Bytes(_) => Err(mismatched("bytes", "a value")),
        }
    }
}

/// A queued call answered in the other form than it was queued with (a binding's mistake).
fn mismatched(got: &str, wanted: &str) -> Error {
    Error::new(
        Code::Internal,
        format!("the serving thread answered with {got} where {wanted} was due"),
    )
}

impl NativeHandler for QueuedHandler {
    fn call(
        &self,
        request: Bytes,
        exchange: Arc<Exchange>,
        ctx: Context,
    ) -> BoxFuture<'static, Result<Bytes>> {
        let answer = self.enqueue(None, Some((request, exchange)), None, ctx);
        Box::pin(async move {
            match answer.await? {
                Answer::Bytes(bytes) => Ok(bytes),
                Answer::Value(_) => Err(mismatched("a value", "bytes")),
            }
        })
    }
}

impl Server {
    /// Routes a unary method's calls to `queue` as [`unary_queued`](Server::unary_queued) does,
    /// for a serving thread that walks its own objects: it takes each call's request with
    /// [`PendingCall::take_native`] and answers with [`PendingCall::reply_bytes`].
    pub fn unary_queued_native(&self, method: &str, queue: &CallQueue) -> Result<()> {
        let info = self.check(method, StreamingKind::Unary)?;
        let handler = Arc::new(queue.handler(&info.name, &self.queue_key(&info.name)?));
        self.host_with(queue);
        self.add(info, Route::Native(handler))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Next;
    use std::time::Duration;

    fn queued() -> (CallQueue, QueuedHandler) {
        let queue = CallQueue::new();
        let handler = queue.handler("demo.v1.Echo/Say", "demo.v1.Echo/Say");
        (queue, handler)
    }

    fn ctx() -> Context {
        Context::new("demo.v1.Echo/Say", "inproc", "test")
    }

    fn exchange() -> Arc<Exchange> {
        Arc::new(Exchange {
            codec: crate::codec::Codec::Proto,
            input: None,
            output: None,
            limits: crate::limits::Limits::default(),
            present: Default::default(),
            converters: Default::default(),
        })
    }

    #[test]
    fn a_native_call_carries_its_bytes_and_is_answered_with_bytes() {
        let (queue, handler) = queued();
        let reply = NativeHandler::call(
            &handler,
            Bytes::from_static(b"\x0a\x01a"),
            exchange(),
            ctx(),
        );
        let Next::Call(mut call) = queue.next(Duration::from_secs(1)) else {
            panic!("a call was queued");
        };
        let (bytes, _exchange) = call.take_native().expect("a native call");
        assert_eq!(&bytes[..], b"\x0a\x01a");
        assert!(call.take_native().is_none());
        call.reply_bytes(Ok(bytes));
        let got = crate::runtime::block_on(reply)
            .expect("runtime")
            .expect("answered");
        assert_eq!(&got[..], b"\x0a\x01a");
    }

    #[test]
    fn a_native_call_answered_with_a_value_is_internal() {
        let (queue, handler) = queued();
        let reply = NativeHandler::call(&handler, Bytes::new(), exchange(), ctx());
        let Next::Call(call) = queue.next(Duration::from_secs(1)) else {
            panic!("a call was queued");
        };
        call.reply(Ok(crate::Value::Null));
        let err = crate::runtime::block_on(reply).expect("runtime");
        let err = err.expect_err("a value is not bytes");
        assert_eq!(err.code(), Code::Internal);
    }
}
