//! The requests given to `$client->stream()` as an iterable, sent lazily ([`Outbox`]): nothing
//! is taken from the iterable before the first read of a reply; a read takes the next request
//! only when no reply is waiting; a request that cannot go at once (the server's window is full)
//! waits together with the read, and whichever can go first does. So a request `Generator` runs
//! interleaved with the replies (it may look at the replies read so far), and a bidi stream
//! larger than both windows cannot deadlock with the server blocked on its replies and this
//! thread on its requests. PHP has one thread: this is the interleaving it can do; `send()` and
//! `closeSend()` by hand do the rest. When this thread also serves (a PHP server of the same
//! process, whose handlers run while the thread waits), every request goes before the first
//! read instead: a handler run inside a read cannot wait for a request its caller has not sent.
//! The stream rules (flow control, half-close, cancellation) stay the core's.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use ext_php_rs::prelude::*;
use ext_php_rs::types::Zval;
use ext_php_rs::zend::{ce, ExecutorGlobals};

use crate::converters::{self, Convs};
use crate::errors::{self, php_result};
use crate::ocore::{self, runtime, StreamCall};
use crate::pump;
use crate::stream::{at_once_or_until, until};

/// An iterable of requests, walked one request at a time.
#[derive(Debug)]
pub(crate) enum Feed {
    /// An array's requests, in order.
    List(VecDeque<Zval>),
    /// An `Iterator` (a `Generator`, usually); `started` once it was rewound.
    Iter { it: Zval, started: bool },
}

impl Feed {
    /// The requests of a `kind` call: an array (a list) or a `Traversable`.
    pub(crate) fn new(kind: &str, requests: &Zval) -> PhpResult<Feed> {
        if let Some(list) = requests.array() {
            return Ok(Feed::List(list.values().map(Zval::shallow_clone).collect()));
        }
        let mut it = requests.shallow_clone();
        // An IteratorAggregate gives its iterator (which may be an aggregate in turn).
        for _ in 0..8 {
            let Some(object) = it.object() else { break };
            if object.instance_of(ce::iterator()) {
                return Ok(Feed::Iter { it, started: false });
            }
            if !object.instance_of(ce::aggregate()) {
                break;
            }
            it = it
                .try_call_method("getIterator", vec![])
                .map_err(|e| errors::php_error(&format!("getIterator: {e}")))?;
            if ExecutorGlobals::has_exception() {
                // Its exception is the caller's: `stream()` throws it.
                return Ok(Feed::List(VecDeque::new()));
            }
        }
        Err(errors::bad_option(format!(
            "a {kind} call takes an iterable of requests"
        )))
    }

    /// The next request; `None` at the end, or when the iterable threw (its exception pending).
    fn take(&mut self) -> Option<Zval> {
        match self {
            Feed::List(list) => list.pop_front(),
            Feed::Iter { it, started } => {
                let step = if std::mem::replace(started, true) {
                    "next"
                } else {
                    "rewind"
                };
                let call = |name: &str| {
                    it.try_call_method(name, vec![])
                        .ok()
                        .filter(|_| !ExecutorGlobals::has_exception())
                };
                call(step)?;
                call("valid")?.bool().filter(|valid| *valid)?;
                call("current")
            }
        }
    }
}

/// The requests of a stream still to send: the rest of its iterable, and one taken from it that
/// has not gone yet (a reply came first).
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    feed: Option<Feed>,
    unsent: Option<Bytes>,
    convs: Convs,
}

impl Outbox {
    pub(crate) fn new(feed: Feed, convs: Convs) -> Outbox {
        Outbox {
            feed: Some(feed),
            unsent: None,
            convs,
        }
    }

    /// Drops what is left to send (the stream was half-closed or cancelled by hand).
    pub(crate) fn clear(&mut self) {
        *self = Outbox::default();
    }

    /// The next reply's bytes (`None` at the end), sending requests meanwhile as the module
    /// says. `Ok(None)`: the iterable threw; its exception is pending and the call cancelled.
    pub(crate) fn read(
        &mut self,
        call: &Arc<StreamCall>,
    ) -> PhpResult<Option<Option<ocore::Result<Bytes>>>> {
        // A server of this thread runs its handlers while this thread waits, on top of this
        // read: a handler waiting there for a request not sent yet would wait for ever. With
        // one, every request goes first (waiting, and so serving, only for a full window).
        if pump::has_local_servers() && !self.flush(call)? {
            return Ok(None);
        }
        loop {
            if self.feed.is_none() && self.unsent.is_none() {
                let call = call.clone();
                return Ok(Some(php_result(until(async move {
                    Ok(call.recv_bytes().await)
                }))?));
            }
            // A reply already here comes before another request is taken.
            if let Some(reply) = runtime::now_or_never(call.recv_bytes()) {
                return Ok(Some(reply));
            }
            let bytes = match self.unsent.take() {
                Some(bytes) => bytes,
                None => match self.next_request(call)? {
                    Some(bytes) => bytes,
                    None if ExecutorGlobals::has_exception() => return Ok(None),
                    None => continue,
                },
            };
            // The request goes, or a reply comes first: the server may wait for this side to
            // read before it reads more.
            let (c, b) = (call.clone(), bytes.clone());
            let outcome = php_result(until(async move {
                let mut reply = std::pin::pin!(c.recv_bytes());
                let mut sent = std::pin::pin!(c.send_encoded_async(b));
                // Both waits are cancel-safe: the one that loses is dropped having done nothing.
                std::future::poll_fn(move |cx| {
                    if let Poll::Ready(reply) = reply.as_mut().poll(cx) {
                        return Poll::Ready(Ok(Some(reply)));
                    }
                    sent.as_mut().poll(cx).map(|sent| sent.map(|()| None))
                })
                .await
            }))?;
            if let Some(reply) = outcome {
                self.unsent = Some(bytes);
                return Ok(Some(reply));
            }
        }
    }

    /// Sends every request left (a client-streaming call answers once they have all gone).
    /// `Ok(false)`: the iterable threw; its exception is pending and the call cancelled.
    pub(crate) fn flush(&mut self, call: &Arc<StreamCall>) -> PhpResult<bool> {
        loop {
            let bytes = match self.unsent.take() {
                Some(bytes) => bytes,
                None => match self.next_request(call)? {
                    Some(bytes) => bytes,
                    None => return Ok(!ExecutorGlobals::has_exception()),
                },
            };
            php_result(at_once_or_until(|| {
                let (call, bytes) = (call.clone(), bytes.clone());
                async move { call.send_encoded_async(bytes).await }
            }))?;
        }
    }

    /// The next request encoded; at the end of the iterable the stream is half-closed (or
    /// cancelled, when the iterable threw) and `None` returned.
    fn next_request(&mut self, call: &StreamCall) -> PhpResult<Option<Bytes>> {
        let Some(feed) = &mut self.feed else {
            return Ok(None);
        };
        let Some(request) = feed.take() else {
            self.feed = None;
            match ExecutorGlobals::has_exception() {
                true => call.cancel(),
                false => call.close_send(),
            }
            return Ok(None);
        };
        // A request that cannot be sent ends the call: its error is the caller's.
        let encoded = converters::outgoing(call, &self.convs, &request);
        if encoded.is_err() {
            self.feed = None;
            call.cancel();
        }
        encoded.map(Some)
    }
}
