//! [`Handlers`]: the PHP handlers of one server and the queue the core fills for them, run on the
//! PHP thread — by `Server::serve()`, and by a client call of the same thread while it waits
//! (so a PHP client can call a PHP server of its own process, over `inproc://` or any transport,
//! without a deadlock: PHP has one thread).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use ext_php_rs::convert::IntoZval;
use ext_php_rs::types::ZendCallable;
use ext_php_rs::zend::ExecutorGlobals;

use crate::context::Context;
use bytes::Bytes;
use ext_php_rs::types::Zval;

use crate::convert;
use crate::converters::{self, Convs, PhpIn};
use crate::errors;
use crate::ocore::{self, CallQueue, Code, Exchange, Next, StreamingKind};
use crate::walk::PhpOut;

/// How long a waiting client call sleeps between looks at this thread's queues.
const CLIENT_POLL: Duration = Duration::from_micros(200);

thread_local! {
    /// The handlers of every live server created on this thread.
    static LOCAL: RefCell<Vec<Weak<Handlers>>> = const { RefCell::new(Vec::new()) };
    /// The servers (by address) whose handlers are running on this thread, innermost last
    /// (nested when a handler's client call waits).
    static RUNNING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// What [`Handlers::serve_one`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Ran,
    Idle,
    Closed,
}

/// The handlers of one server and its call queue.
#[derive(Debug)]
pub(crate) struct Handlers {
    pub(crate) queue: CallQueue,
    map: RefCell<HashMap<String, (Rc<ZendCallable<'static>>, StreamingKind)>>,
    server: Arc<ocore::Server>,
    /// A shutdown asked for by a handler, done once that handler's reply is sent (its grace).
    stop_after_reply: Cell<Option<Duration>>,
    /// The server's converters.
    convs: Convs,
}

impl Handlers {
    /// An empty set, known to this thread's waiting client calls.
    pub(crate) fn new(server: Arc<ocore::Server>, convs: Convs) -> Rc<Handlers> {
        let h = Rc::new(Handlers {
            queue: CallQueue::new(),
            map: RefCell::new(HashMap::new()),
            server,
            stop_after_reply: Cell::new(None),
            convs,
        });
        LOCAL.with(|l| l.borrow_mut().push(Rc::downgrade(&h)));
        h
    }

    /// Keeps the handler registered under `key` (`Server::queue_key`: the method's full name,
    /// or `method@label` for a schema revision's handler).
    pub(crate) fn insert(&self, key: String, handler: ZendCallable<'static>, kind: StreamingKind) {
        self.map.borrow_mut().insert(key, (Rc::new(handler), kind));
    }

    /// Stops the server: calls still queued get `UNAVAILABLE`, those in flight up to `grace`.
    /// From inside a handler, the stop waits until that handler's reply is sent.
    pub(crate) fn shutdown(&self, grace: Duration) -> ocore::Result<()> {
        self.queue.close();
        if self.in_handler() {
            self.stop_after_reply.set(Some(grace));
            return Ok(());
        }
        self.server.shutdown_blocking(grace)
    }

    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Whether one of this server's handlers is running on this thread.
    fn in_handler(&self) -> bool {
        RUNNING.with(|r| r.borrow().contains(&self.address()))
    }

    /// Takes the next call off the queue (waiting up to `wait`) and answers it.
    pub(crate) fn serve_one(&self, wait: Duration) -> Step {
        // Poll briefly first: a busy caller's next call often comes sooner than this thread
        // would wake up from the wait.
        let next = self
            .queue
            .spin_next(crate::ocore::runtime::spin_time().min(wait))
            .unwrap_or_else(|| self.queue.next(wait));
        match next {
            Next::Idle => Step::Idle,
            Next::Closed => Step::Closed,
            Next::Call(mut call) => {
                let Some((handler, kind)) = self.map.borrow().get(call.handler_key()).cloned()
                else {
                    call.reply_unhandled();
                    return Step::Ran;
                };
                RUNNING.with(|r| r.borrow_mut().push(self.address()));
                match (call.take_stream(), call.take_native()) {
                    (Some(stream), _) => {
                        let ctx = call.context();
                        let done =
                            crate::serve_stream::invoke(&handler, kind, stream, ctx, &self.convs);
                        RUNNING.with(|r| r.borrow_mut().pop());
                        call.reply(done.map(|()| ocore::Value::Null));
                    }
                    (None, Some((request, exchange))) => {
                        let ctx = call.context();
                        let answer = invoke(&handler, ctx, &request, &exchange, &self.convs);
                        RUNNING.with(|r| r.borrow_mut().pop());
                        call.reply_bytes(answer);
                    }
                    // Every unary method is routed with its bytes (`unary_queued_native`).
                    (None, None) => {
                        RUNNING.with(|r| r.borrow_mut().pop());
                        let what = "a unary call was queued without its request bytes";
                        call.reply(Err(ocore::Error::new(Code::Internal, what)));
                    }
                }
                if let Some(grace) = self.stop_after_reply.take() {
                    if let Err(e) = self.shutdown(grace) {
                        eprintln!("hms_ffi: stopping the server failed: {e}");
                    }
                }
                Step::Ran
            }
        }
    }
}

/// A core error for a failure on this side of a handler call (the pending PHP exception if any).
pub(crate) fn pending_error(what: &str) -> ocore::Error {
    match ExecutorGlobals::take_exception() {
        Some(exception) => errors::from_php(exception),
        None => ocore::Error::new(Code::Internal, what.to_string()),
    }
}

/// A request's bytes as PHP values for a handler, made by the core's walk (walk.rs): a
/// converter that threw is the core's error (the caller's `InvalidArgument` with the path).
pub(crate) fn request_for_handler(
    exchange: &Exchange,
    request: &[u8],
    convs: &Convs,
) -> ocore::Result<Zval> {
    let made = exchange.request(request, &mut PhpOut::new(convs));
    made.unwrap_or_else(|f| Err(from_fail(f, "the request could not become PHP values")))
}

/// A failure of this side's walk as a core error: the core's own, or the pending PHP exception.
pub(crate) fn from_fail(f: convert::Fail, what: &str) -> ocore::Error {
    converters::core_error(f).unwrap_or_else(|e| pending_error(&format!("{what}: {e:?}")))
}

/// Runs one PHP handler: `$handler(array $request, Context $ctx): array`; its reply is walked
/// to bytes by the route's exchange, the converters making custom domain types message-shaped
/// (a reply not of the type, or a converter that throws, is `Internal`: the handler's fault).
fn invoke(
    handler: &ZendCallable,
    context: &ocore::Context,
    request: &[u8],
    exchange: &Exchange,
    convs: &Convs,
) -> ocore::Result<Bytes> {
    let request = request_for_handler(exchange, request, convs)?;
    let ctx = Context::from(context.clone())
        .into_zval(false)
        .map_err(|e| ocore::Error::new(Code::Internal, e.to_string()))?;
    // Calls the handler makes inherit the call's deadline, cancellation and trace.
    let _entered = context.enter();
    match handler.try_call(vec![&request, &ctx]) {
        Ok(reply) => exchange
            .reply(&PhpIn::new(&reply, convs))
            .unwrap_or_else(|f| Err(from_fail(f, "the reply could not be read"))),
        Err(e) => Err(pending_error(&format!(
            "the handler could not be called: {e}"
        ))),
    }
}

fn local_servers() -> Vec<Rc<Handlers>> {
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|w| w.strong_count() > 0);
        l.iter().filter_map(Weak::upgrade).collect()
    })
}

/// Whether this thread has a live server whose handlers a waiting call must run.
pub(crate) fn has_local_servers() -> bool {
    local_servers().iter().any(|s| !s.queue.is_closed())
}

/// Waits for what `rx` receives, running the handlers of this thread's servers meanwhile;
/// without such servers it just waits. `None` if the sender went away without sending.
pub(crate) fn wait<T>(rx: mpsc::Receiver<T>) -> Option<T> {
    loop {
        let servers = local_servers();
        if servers.is_empty() {
            return rx.recv().ok();
        }
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        let mut ran = false;
        for s in servers.iter().filter(|s| !s.queue.is_closed()) {
            ran |= s.serve_one(Duration::ZERO) == Step::Ran;
        }
        if !ran {
            match rx.recv_timeout(CLIENT_POLL) {
                Ok(v) => return Some(v),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}
