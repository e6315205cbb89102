//! `HmsFfi::Server`: calls are queued by the core and run on the Ruby thread that calls
//! `serve`, which waits for them with the GVL released (DESIGN.md §4).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use magnus::block::Proc;
use magnus::{function, method, prelude::*, Error, RArray, RHash, RModule, Ruby, Value as RValue};

use crate::context::Context;
use crate::convert;
use crate::errors::{self, rb_result};
use crate::gvl::without_gvl;
use crate::ocore::{self, CallQueue, Next, PendingCall};
use crate::schema::Schema;
use crate::stream::NativeServerStream;
use crate::walk::{RbIn, RbOut};

/// How long `serve` waits without the GVL before it looks at Ruby's interrupts again.
const POLL: Duration = Duration::from_millis(100);

/// A server for a schema; `lib/hms_ffi/server.rb` adds `method { … }`, `serve`, `shutdown`.
#[magnus::wrap(class = "HmsFfi::Server", free_immediately, size)]
pub(crate) struct Server {
    inner: Arc<ocore::Server>,
    queue: CallQueue,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Server {
    /// `Server._new(schema, max_message_bytes, max_concurrent_per_connection, security,
    /// service_config, converters)`: `security` is the path of a security file
    /// (docs/security.md) or nil; `service_config` the JSON text of the service config discovery
    /// announces, or nil; `converters` the converters' targets (docs/converters.md).
    fn new(
        ruby: &Ruby,
        schema: &Schema,
        max_message_bytes: Option<usize>,
        max_concurrent_per_connection: Option<usize>,
        security: Option<String>,
        service_config: Option<String>,
        converters: Vec<(String, String)>,
    ) -> Result<Server, Error> {
        let options = ocore::BindingOptions {
            max_message_bytes,
            max_concurrent_per_connection,
            security: security.map(Into::into),
            service_config,
            converters: convert::registry(ruby, converters)?,
            ..Default::default()
        };
        let options = rb_result(ruby, ocore::ServerOptions::for_binding("ruby", options))?;
        Ok(Server {
            inner: Arc::new(ocore::Server::with_options(schema.inner.clone(), options)),
            queue: CallQueue::new(),
        })
    }

    /// Routes a method's calls (unary or streaming), of the main schema or of the schema
    /// revision `revision`, to the queue `serve` takes them from; returns `[key, kind]`: the
    /// key `serve` finds its handler under (the method's full name, `@label` added for a
    /// revision) and its streaming kind.
    fn register(
        ruby: &Ruby,
        rb_self: &Server,
        method: String,
        revision: Option<String>,
    ) -> Result<(String, &'static str), Error> {
        let target = rb_result(ruby, rb_self.inner.on_revision(revision.as_deref()))?;
        let kind = target.schema().method(&method).map(|m| m.kind());
        rb_result(
            ruby,
            match kind.is_some_and(|k| k != ocore::StreamingKind::Unary) {
                true => target.stream_queued(&method, &rb_self.queue),
                false => target.unary_queued_native(&method, &rb_self.queue),
            },
        )?;
        let key = rb_result(ruby, target.queue_key(&method))?;
        Ok((key, kind.unwrap_or(ocore::StreamingKind::Unary).name()))
    }

    /// Serves `schema` beside the main one as the revision `label`; returns its fingerprint.
    fn add_revision(
        ruby: &Ruby,
        rb_self: &Server,
        label: String,
        schema: &Schema,
    ) -> Result<String, Error> {
        rb_result(
            ruby,
            rb_self.inner.add_revision(&label, schema.inner.clone()),
        )
    }

    /// The revisions served beside the main schema, `{label => fingerprint}`.
    fn revisions(&self) -> HashMap<String, String> {
        self.inner.revisions().into_iter().collect()
    }

    /// Serves the main schema's `method` with the handler of `revision` (a WIRE check first).
    fn bridge(
        ruby: &Ruby,
        rb_self: &Server,
        revision: String,
        method: String,
    ) -> Result<(), Error> {
        rb_result(ruby, rb_self.inner.bridge(&revision, &method))
    }

    /// Starts listening on an endpoint URI; returns it as bound.
    fn listen(ruby: &Ruby, rb_self: &Server, uri: String) -> Result<String, Error> {
        let inner = rb_self.inner.clone();
        loop {
            match without_gvl(|| inner.listen(&uri), &|| {}) {
                Some(r) => return rb_result(ruby, r),
                None => ruby.thread_check_ints()?,
            }
        }
    }

    /// Starts the admin listener on `uri` (`http://host:port`; port 0 picks a free one):
    /// `/metrics`, `/healthz` and the live monitoring page at `/`. Returns the URI bound.
    fn admin(ruby: &Ruby, rb_self: &Server, uri: String) -> Result<String, Error> {
        rb_result(ruby, rb_self.inner.admin(&uri))
    }

    /// Runs queued calls on this thread until the queue is closed. `handlers` maps full method
    /// names to blocks. Waits without the GVL; Ruby interrupts (signals, `Thread#raise`) are
    /// raised from here between calls, and end the loop.
    fn serve(
        ruby: &Ruby,
        rb_self: &Server,
        handlers: RHash,
        convs: Option<RArray>,
    ) -> Result<(), Error> {
        let queue = rb_self.queue.clone();
        loop {
            // Poll briefly with the GVL held: the next call of a busy caller often comes
            // sooner than giving the GVL up and taking it back would take.
            let next = queue
                .spin_next(crate::client::ruby_spin())
                .or_else(|| without_gvl(|| queue.next(POLL), &|| {}));
            match next {
                Some(Next::Closed) => return Ok(()),
                Some(Next::Call(call)) => run_call(ruby, handlers, convs, *call)?,
                Some(Next::Idle) | None => {}
            }
            ruby.thread_check_ints()?;
        }
    }

    /// Graceful stop of the core server: stops accepting, lets calls in flight finish for up
    /// to `grace` seconds (while `serve` still runs them), then closes every endpoint.
    fn shutdown(ruby: &Ruby, rb_self: &Server, grace: f64) -> Result<(), Error> {
        let inner = rb_self.inner.clone();
        let grace = Duration::from_secs_f64(grace.max(0.0));
        loop {
            match without_gvl(|| inner.shutdown_blocking(grace), &|| {}) {
                Some(r) => return rb_result(ruby, r),
                None => ruby.thread_check_ints()?,
            }
        }
    }

    /// Closes the call queue: `serve` returns, queued and later calls get `Unavailable`.
    fn close_queue(&self) {
        self.queue.close();
    }

    /// The endpoints listened on.
    fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// The schema version discovery announces, `[fingerprint, subject, version]`.
    fn schema_version(&self) -> (String, String, u32) {
        let v = self.inner.schema_version();
        (v.fingerprint, v.subject, v.version)
    }

    /// Records the registry subject and version of the schema served (announced in discovery).
    fn set_schema_version(&self, subject: String, version: u32) {
        self.inner.set_schema_version(&subject, version)
    }

    /// Calls in flight.
    fn inflight(&self) -> usize {
        self.inner.inflight()
    }

    /// True once stopped.
    fn stopped(&self) -> bool {
        self.inner.is_stopped()
    }
}

/// Runs one call's block on this thread and answers it. A block that raises answers with the
/// error; an exception that is not a `StandardError` (`Interrupt`, `SystemExit`) is raised on
/// after answering, so it ends `serve`.
fn run_call(
    ruby: &Ruby,
    handlers: RHash,
    convs: Option<RArray>,
    mut call: PendingCall,
) -> Result<(), Error> {
    let Some(handler) = handlers
        .get(call.handler_key())
        .and_then(|h: RValue| Proc::from_value(h))
    else {
        call.reply_unhandled();
        return Ok(());
    };
    let ctx = Context::from(call.context().clone());
    // Calls the block makes on this thread inherit the call's deadline, cancellation and trace.
    let _entered = call.context().enter();
    let raised = match (call.take_stream(), call.take_native()) {
        // A streaming handler (the gem's StreamRunner) reads and sends on the stream itself.
        (Some(stream), _) => match handler.call::<_, RValue>((NativeServerStream(stream), ctx)) {
            Ok(_) => {
                call.reply(Ok(ocore::Value::Null));
                return Ok(());
            }
            Err(e) => e,
        },
        // The request's objects are made from its bytes, the reply walked into bytes (walk.rs).
        (None, Some((request, exchange))) => {
            let mut out = RbOut::new(ruby, convs);
            let answer = exchange
                .request(&request, &mut out)
                .and_then(|req| match req {
                    Err(e) => Ok(Err(e)),
                    Ok(req) => {
                        let reply = handler.call::<_, RValue>((req, ctx))?;
                        exchange.reply(&RbIn::new(ruby, reply, convs, true))
                    }
                });
            match answer {
                Ok(answer) => {
                    call.reply_bytes(answer);
                    return Ok(());
                }
                Err(e) => e,
            }
        }
        // Not queued by this binding's `register`: dropped unanswered, the caller gets Internal.
        (None, None) => return Ok(()),
    };
    call.reply(Err(errors::from_ruby(ruby, &raised)));
    if errors::ends_serving(ruby, &raised) {
        return Err(raised);
    }
    Ok(())
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Server", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_new", function!(Server::new, 6))?;
    class.define_method("_register", method!(Server::register, 2))?;
    class.define_method("add_revision", method!(Server::add_revision, 2))?;
    class.define_method("revisions", method!(Server::revisions, 0))?;
    class.define_method("bridge", method!(Server::bridge, 2))?;
    class.define_method("listen", method!(Server::listen, 1))?;
    class.define_method("admin", method!(Server::admin, 1))?;
    class.define_method("_serve", method!(Server::serve, 2))?;
    class.define_method("_shutdown", method!(Server::shutdown, 1))?;
    class.define_method("_close_queue", method!(Server::close_queue, 0))?;
    class.define_method("endpoints", method!(Server::endpoints, 0))?;
    class.define_method("inflight", method!(Server::inflight, 0))?;
    class.define_method("_schema_version", method!(Server::schema_version, 0))?;
    let set_version = method!(Server::set_schema_version, 2);
    class.define_method("set_schema_version", set_version)?;
    class.define_method("stopped?", method!(Server::stopped, 0))?;
    Ok(())
}
