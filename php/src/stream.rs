//! Streams: the core's [`StreamCall`] as `HmsFfi\Stream` (a client's stream, an `Iterator` over
//! the replies, sending the requests it was given as it reads: [`crate::feed`]) and the core's
//! [`ServerStream`] as `HmsFfi\Requests` (a streaming handler's requests, an `Iterator` that
//! reads as it is iterated). Every wait runs this thread's servers' handlers meanwhile
//! ([`until`]), as a blocking call does; the stream rules are the core's.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{mpsc, Arc};

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ce;

use crate::convert;
use crate::converters::{self, Convs};
use crate::errors::{self, php_result};
use crate::feed::{Feed, Outbox};
use crate::ocore::{self, runtime, Code, ServerStream, StreamCall};
use crate::pump;
use crate::walk::PhpOut;

/// Waits for `work` on the core's runtime. With servers on this thread, their handlers run
/// meanwhile (one of them may be the peer); otherwise the thread just blocks. Calls and streams
/// wait through it alike.
pub(crate) fn until<T, F>(work: F) -> ocore::Result<T>
where
    F: Future<Output = ocore::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    if !pump::has_local_servers() {
        return runtime::block_on(work)?;
    }
    let (tx, rx) = mpsc::channel();
    runtime::runtime().spawn(async move {
        let _ = tx.send(work.await);
    });
    pump::wait(rx).unwrap_or_else(|| {
        let lost = "the wait ended without an answer";
        Err(ocore::Error::new(Code::Internal, lost))
    })
}

/// `make()`'s work done at once when it can be (a send the peer's window has room for), without
/// running any handler; else [`until`] it is done. The work must be safe to drop mid-way, as
/// the core's window waits are: a PHP handler of this thread run meanwhile could wait on this
/// caller, which it cannot serve while it waits in that handler.
pub(crate) fn at_once_or_until<T, F>(make: impl Fn() -> F) -> ocore::Result<T>
where
    F: Future<Output = ocore::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    runtime::now_or_never(make()).unwrap_or_else(|| until(make()))
}

/// A read's outcome made into PHP values by `decode` (the core's walk, walk.rs; `None` at the
/// end), converted by `convs`.
fn to_php<B: AsRef<[u8]>>(
    next: Option<ocore::Result<B>>,
    convs: &Convs,
    decode: impl FnOnce(&[u8], &mut PhpOut<'_>) -> ocore::NativeResult<Zval, convert::Fail>,
) -> PhpResult<Option<Zval>> {
    let Some(bytes) = next else {
        return Ok(None);
    };
    let bytes = php_result(bytes)?;
    let made = decode(bytes.as_ref(), &mut PhpOut::new(convs));
    php_result(made.map_err(|f| f.into_native(errors::to_php))?).map(Some)
}

/// A streaming call: `foreach ($stream as $reply)` reads the replies; `send()`,
/// `closeSend()`, `result()` (the one reply of a client-streaming call) and `cancel()`.
#[php_class]
#[php(name = "HmsFfi\\Stream")]
#[php(implements(ce = ce::iterator, stub = "\\Iterator"))]
#[derive(Debug)]
pub struct Stream {
    call: Arc<StreamCall>,
    cursor: Cursor,
    /// The requests given to `stream()`, not sent yet.
    outbox: Outbox,
    /// The client's converters.
    convs: Convs,
}

impl Stream {
    pub(crate) fn new(call: StreamCall, convs: Convs) -> Stream {
        Stream {
            call: Arc::new(call),
            cursor: Cursor::default(),
            outbox: Outbox::default(),
            convs,
        }
    }

    /// Takes the requests given to `stream()`: the one request of a server-streaming call (an
    /// array with keys, or empty) goes at once with the half-close; an iterable of requests is
    /// sent as the replies are read ([`crate::feed`]).
    pub(crate) fn give(&mut self, requests: &Zval) -> PhpResult<()> {
        let kind = self.kind();
        let one = kind == "server_streaming"
            && requests
                .array()
                .is_some_and(|a| !crate::convert::is_list(a) || a.is_empty());
        if one {
            self.send_zval(requests)?;
            self.call.close_send();
        } else {
            self.outbox = Outbox::new(Feed::new(&kind, requests)?, self.convs.clone());
        }
        Ok(())
    }

    /// Reads the next reply (none at the end), sending the given requests meanwhile; none, with
    /// the exception pending, when the requests' iterable threw.
    fn read(call: &Arc<StreamCall>, outbox: &mut Outbox, convs: &Convs) -> PhpResult<Option<Zval>> {
        match outbox.read(call)? {
            Some(next) => to_php(next, convs, |b, out| call.decoder().decode_output(b, out)),
            None => Ok(None),
        }
    }

    /// Sends one request (an array); waits while the server's window is full.
    pub(crate) fn send_zval(&self, request: &Zval) -> PhpResult<()> {
        let bytes = converters::outgoing(&*self.call, &self.convs, request)?;
        php_result(at_once_or_until(|| {
            let (call, bytes) = (self.call.clone(), bytes.clone());
            async move { call.send_encoded_async(bytes).await }
        }))
    }
}

#[php_impl]
impl Stream {
    /// `server_streaming`, `client_streaming` or `bidi_streaming`.
    pub fn kind(&self) -> String {
        self.call.kind().name().to_string()
    }

    /// Sends one request; waits while the server's window is full (running this thread's
    /// servers meanwhile). `FailedPreconditionException` after `closeSend()`.
    ///
    /// @param array<string, mixed> $request
    pub fn send(&self, request: &ZendHashTable) -> PhpResult<()> {
        let mut zv = Zval::new();
        zv.set_hashtable(request.to_owned());
        self.send_zval(&zv)
    }

    /// Half-closes: no more requests (requests given to `stream()` and not sent yet are
    /// dropped).
    pub fn close_send(&mut self) {
        self.outbox.clear();
        self.call.close_send();
    }

    /// Cancels the call: the server's handler sees it; the next read throws
    /// `CancelledException`.
    pub fn cancel(&mut self) {
        self.outbox.clear();
        self.call.cancel();
    }

    /// The one reply of a client-streaming call, read to the end, after the requests given to
    /// `stream()` have all been sent (`InternalException` when the server sent none or more
    /// than one).
    ///
    /// @return array<string, mixed>
    pub fn result(&mut self) -> PhpResult<Zval> {
        if !self.outbox.flush(&self.call)? {
            // The requests' iterable threw: its exception is pending, and is the outcome.
            return Ok(Zval::null());
        }
        let call = self.call.clone();
        let one = until(async move { call.recv_only_bytes().await });
        let decoder = self.call.decoder();
        let made = to_php(Some(one), &self.convs, |b, out| {
            decoder.decode_output(b, out)
        })?;
        Ok(made.unwrap_or_default())
    }

    /// The response headers once they have arrived (null before).
    ///
    /// @return array<string, string>|null
    pub fn headers(&self) -> Option<HashMap<String, String>> {
        self.call.headers().map(|m| m.first_values())
    }

    /// The response trailers, complete at the end.
    ///
    /// @return array<string, string>
    pub fn trailers(&self) -> HashMap<String, String> {
        self.call.trailers().first_values()
    }

    /// Starts the iteration: reads the first reply (once; a stream is iterated once).
    pub fn rewind(&mut self) -> PhpResult<()> {
        let (call, outbox, convs) = (&self.call, &mut self.outbox, &self.convs);
        self.cursor.rewind(|| Stream::read(call, outbox, convs))
    }

    /// Whether there is a current reply.
    pub fn valid(&self) -> bool {
        self.cursor.current.is_some()
    }

    /// The current reply.
    pub fn current(&self) -> Option<Zval> {
        self.cursor.current()
    }

    /// The current reply's position.
    pub fn key(&self) -> i64 {
        self.cursor.index
    }

    /// Reads the next reply; throws the call's error (after the replies sent before it).
    pub fn next(&mut self) -> PhpResult<()> {
        let (call, outbox, convs) = (&self.call, &mut self.outbox, &self.convs);
        self.cursor.next(|| Stream::read(call, outbox, convs))
    }
}

/// Where an `Iterator` over a stream's messages is: the current message, its position, and
/// whether the iteration has started (a stream is iterated once).
#[derive(Debug, Default)]
struct Cursor {
    current: Option<Zval>,
    index: i64,
    started: bool,
}

impl Cursor {
    fn rewind(&mut self, read: impl FnOnce() -> PhpResult<Option<Zval>>) -> PhpResult<()> {
        if !std::mem::replace(&mut self.started, true) {
            self.current = read()?;
        }
        Ok(())
    }

    fn next(&mut self, read: impl FnOnce() -> PhpResult<Option<Zval>>) -> PhpResult<()> {
        self.index += 1;
        self.current = read()?;
        Ok(())
    }

    fn current(&self) -> Option<Zval> {
        self.current.as_ref().map(Zval::shallow_clone)
    }
}

/// A streaming handler's requests: `foreach ($requests as $request)` reads them as it goes.
#[php_class]
#[php(name = "HmsFfi\\Requests")]
#[php(implements(ce = ce::iterator, stub = "\\Iterator"))]
#[derive(Debug)]
pub struct Requests {
    stream: Arc<ServerStream>,
    cursor: Cursor,
    /// The server's converters.
    convs: Convs,
}

impl Requests {
    pub(crate) fn new(stream: Arc<ServerStream>, convs: Convs) -> Requests {
        Requests {
            stream,
            cursor: Cursor::default(),
            convs,
        }
    }

    /// Reads the next request (none once the client half-closed).
    fn read(stream: &Arc<ServerStream>, convs: &Convs) -> PhpResult<Option<Zval>> {
        let s = stream.clone();
        let next = php_result(until(async move { Ok(s.recv_bytes().await) }))?;
        to_php(next, convs, |b, out| stream.decode(b, out))
    }
}

#[php_impl]
impl Requests {
    /// Starts the iteration: reads the first request (once).
    pub fn rewind(&mut self) -> PhpResult<()> {
        let (stream, convs) = (&self.stream, &self.convs);
        self.cursor.rewind(|| Requests::read(stream, convs))
    }

    /// Whether there is a current request.
    pub fn valid(&self) -> bool {
        self.cursor.current.is_some()
    }

    /// The current request.
    pub fn current(&self) -> Option<Zval> {
        self.cursor.current()
    }

    /// The current request's position.
    pub fn key(&self) -> i64 {
        self.cursor.index
    }

    /// Reads the next request (none once the client half-closed).
    pub fn next(&mut self) -> PhpResult<()> {
        let (stream, convs) = (&self.stream, &self.convs);
        self.cursor.next(|| Requests::read(stream, convs))
    }
}
