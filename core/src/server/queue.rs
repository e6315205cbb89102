//! [`CallQueue`]: calls queued for one foreign thread that must run every handler itself —
//! unary calls, and streaming calls with their [`ServerStream`].
//!
//! Some interpreters let only their own thread touch their objects: Ruby (the GVL thread that
//! called `serve`) and PHP (the request thread). Their bindings register methods with
//! [`Server::unary_queued`](crate::Server::unary_queued); the core then puts each admitted call on
//! a queue, and the binding's `serve()` loop takes calls off it with [`CallQueue::next`] (waiting
//! with the interpreter's lock released), runs the handler on its own thread and answers with
//! [`PendingCall::reply`] (a streaming call, registered with
//! [`Server::stream_queued`](crate::Server::stream_queued), reads and sends on
//! [`PendingCall::take_stream`] and ends with [`PendingCall::end`]). Everything else — decoding, validation, limits, deadlines,
//! cancellation — stays in the core: a call whose caller has gone or whose deadline has passed
//! is dropped before it reaches the handler.
//!
//! A binding that walks its own objects queues unary calls as bytes instead ([`native`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::handler::{BoxFuture, RequestStream, ResponseSink, StreamHandler, UnaryHandler};
use crate::streaming::ServerStream;
use crate::transport::Host;
use crate::value::Value;
use crate::Exchange;

mod native;
mod wait;
use native::Answer;

/// The queued calls. Several threads may wait in [`CallQueue::next`] at once: each waits on the
/// condition variable (which releases the lock), so none is starved of the lock and every one
/// returns by its timeout (a binding checks its interpreter's interrupts between waits).
struct Shared {
    calls: Mutex<VecDeque<Box<PendingCall>>>,
    /// How many calls are queued, for a spinning thread to read without the lock.
    queued: AtomicUsize,
    ready: Condvar,
    closed: AtomicBool,
    /// Spins in a row in which no call came, and spins still to skip after too many.
    misses: AtomicU32,
    skip: AtomicU32,
    /// The connections the serving thread reads itself while it waits in
    /// [`CallQueue::next`] (none when its wake pipe could not be made: then the server's
    /// connection threads read them and queue the calls).
    host: Option<Arc<Host>>,
}

impl Shared {
    fn calls(&self) -> MutexGuard<'_, VecDeque<Box<PendingCall>>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A queue of calls waiting for the thread that serves them. Cheap to clone; all clones share
/// one queue.
#[derive(Clone)]
pub struct CallQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CallQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallQueue")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// What [`CallQueue::next`] found.
#[derive(Debug)]
pub enum Next {
    /// A call to run; answer it with [`PendingCall::reply`].
    Call(Box<PendingCall>),
    /// Nothing arrived within the timeout (check for interrupts, then wait again).
    Idle,
    /// The queue was closed: stop serving.
    Closed,
}

impl Default for CallQueue {
    fn default() -> Self {
        CallQueue::new()
    }
}

impl CallQueue {
    /// An open, empty queue.
    pub fn new() -> CallQueue {
        CallQueue {
            shared: Arc::new(Shared {
                calls: Mutex::new(VecDeque::new()),
                queued: AtomicUsize::new(0),
                ready: Condvar::new(),
                closed: AtomicBool::new(false),
                misses: AtomicU32::new(0),
                skip: AtomicU32::new(0),
                host: Host::new().ok().map(Arc::new),
            }),
        }
    }

    /// The first live call queued, dropping the dead ones before it.
    fn pop_live(&self, calls: &mut VecDeque<Box<PendingCall>>) -> Option<Box<PendingCall>> {
        while let Some(call) = calls.pop_front() {
            self.shared.queued.store(calls.len(), Ordering::Release);
            if call.is_live() {
                return Some(call);
            }
        }
        None
    }

    /// Closes the queue: a waiting [`next`](CallQueue::next) returns [`Next::Closed`], and calls
    /// still queued or arriving later fail with `Unavailable`. Safe from any thread.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        // Answer what is still queued, so no caller waits for its deadline; wake every waiter.
        drain(&mut self.shared.calls());
        self.shared.ready.notify_all();
        if let Some(host) = &self.shared.host {
            host.poke();
        }
    }

    /// Closes the queue when the process gets SIGINT or SIGTERM, for a `serve()` that should
    /// return on Ctrl-C (PHP's CLI). From then on those signals no longer end the process by
    /// themselves: the serving loop returns and the program decides.
    pub fn close_on_signals(&self) -> Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let queue = self.clone();
        let _guard = crate::runtime::handle().enter();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        crate::runtime::handle().spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            queue.close();
        });
        Ok(())
    }

    /// Whether [`close`](CallQueue::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    fn push(&self, call: Box<PendingCall>) -> bool {
        let mut calls = self.shared.calls();
        if self.is_closed() {
            return false;
        }
        calls.push_back(call);
        self.shared.queued.store(calls.len(), Ordering::Release);
        self.shared.ready.notify_one();
        drop(calls);
        if let Some(host) = &self.shared.host {
            host.poke();
        }
        true
    }

    /// The handler the server registers for a queued method, its calls carrying `key`.
    pub(crate) fn handler(&self, method: &str, key: &str) -> QueuedHandler {
        QueuedHandler {
            queue: self.clone(),
            method: method.into(),
            key: key.into(),
        }
    }
}

fn drain(calls: &mut VecDeque<Box<PendingCall>>) {
    // `queued` may stay above zero: a spinning thread then takes the lock and finds nothing.
    for call in calls.drain(..) {
        call.reply(Err(not_serving()));
    }
}

fn not_serving() -> Error {
    Error::new(
        Code::Unavailable,
        "the server is not serving (its call queue is closed)",
    )
}

/// One call taken off a [`CallQueue`], to be answered exactly once. Dropping it unanswered
/// answers the caller with `Internal`.
#[derive(Debug)]
pub struct PendingCall {
    method: Arc<str>,
    key: Arc<str>,
    request: Option<Value>,
    /// A native call's request bytes and the exchange that reads and writes them, until taken
    /// ([`Server::unary_queued_native`](crate::Server::unary_queued_native)).
    native: Option<(Bytes, Arc<Exchange>)>,
    /// A streaming call's requests and replies, until taken.
    stream: Option<ServerStream>,
    ctx: Context,
    reply: Option<oneshot::Sender<Result<Answer>>>,
}

impl PendingCall {
    /// The full method name, `package.Service/Method`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The key its serving thread finds the handler under: the method's full name, or
    /// `method@label` for a handler registered on the schema revision `label`
    /// ([`Server::queue_key`](crate::Server::queue_key) gives it at registration).
    pub fn handler_key(&self) -> &str {
        &self.key
    }

    /// The call's context (metadata, deadline, identity, cancellation).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Takes the decoded, validated request (`Value::Null` if taken twice).
    pub fn take_request(&mut self) -> Value {
        self.request.take().unwrap_or(Value::Null)
    }

    /// Whether this is a streaming call (its handler reads and sends on
    /// [`take_stream`](PendingCall::take_stream), and ends it with [`end`](PendingCall::end)).
    pub fn is_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// Takes a streaming call's requests and replies (`None` for a unary call, or taken twice).
    pub fn take_stream(&mut self) -> Option<ServerStream> {
        self.stream.take()
    }

    /// Ends a streaming call: `Ok` once its replies are sent, or the error, which the caller
    /// gets after them.
    pub fn end(self, result: Result<()>) {
        self.reply(result.map(|()| Value::Null));
    }

    /// Whether the caller is still waiting for this answer.
    pub fn is_live(&self) -> bool {
        !self.ctx.is_cancelled()
            && self.ctx.time_remaining() != Some(Duration::ZERO)
            && self.reply.as_ref().is_some_and(|r| !r.is_closed())
    }

    /// Answers a call its serving thread has no handler for (a method queued by one server
    /// but not registered with this thread's handlers): `Unimplemented`, reason
    /// `UNKNOWN_METHOD`, the same from every binding.
    pub fn reply_unhandled(self) {
        let method = self.method.to_string();
        self.reply(Err(Error::unimplemented_method(&method)));
    }

    /// Answers the call. The core checks the reply against the method's response type. A call
    /// read on a `unix://` connection's thread is finished (its reply encoded and written) on
    /// the answering thread, with no runtime thread woken in between.
    pub fn reply(self, result: Result<Value>) {
        self.answer(result.map(Answer::Value));
    }

    fn answer(mut self, result: Result<Answer>) {
        if let Some(tx) = self.reply.take() {
            let _ = crate::eager::handing_over(|| tx.send(result));
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(Err(Error::new(
                Code::Internal,
                format!("the handler for {} returned no reply", self.method),
            )));
        }
    }
}

/// The [`UnaryHandler`] behind a queued method: enqueue, then await the serving thread's reply.
pub(crate) struct QueuedHandler {
    queue: CallQueue,
    method: Arc<str>,
    key: Arc<str>,
}

impl QueuedHandler {
    /// Queues a call; resolves with the serving thread's answer.
    fn enqueue(
        &self,
        request: Option<Value>,
        native: Option<(Bytes, Arc<Exchange>)>,
        stream: Option<ServerStream>,
        ctx: Context,
    ) -> BoxFuture<'static, Result<Answer>> {
        let (tx, rx) = oneshot::channel();
        let call = PendingCall {
            method: self.method.clone(),
            key: self.key.clone(),
            request,
            native,
            stream,
            ctx,
            reply: Some(tx),
        };
        let queued = self.queue.push(Box::new(call));
        Box::pin(async move {
            if !queued {
                return Err(not_serving());
            }
            rx.await.unwrap_or_else(|_| Err(not_serving()))
        })
    }
}

impl UnaryHandler for QueuedHandler {
    fn call(&self, request: Value, ctx: Context) -> BoxFuture<'static, Result<Value>> {
        let answer = self.enqueue(Some(request), None, None, ctx);
        Box::pin(async move { answer.await?.into_value() })
    }
}

impl StreamHandler for QueuedHandler {
    fn call(
        &self,
        requests: RequestStream,
        sink: ResponseSink,
        ctx: Context,
    ) -> BoxFuture<'static, Result<()>> {
        let ended = self.enqueue(None, None, Some(ServerStream::new(requests, sink)), ctx);
        Box::pin(async move { ended.await.map(|_| ()) })
    }
}
