//! `HmsFfi::Client`: calls release the GVL while they wait and stop waiting when Ruby
//! interrupts the thread (`Thread#raise`, `Thread#kill`, Ctrl-C) or another thread cancels their
//! `HmsFfi::CancelToken`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use magnus::r_hash::ForEach;
use magnus::{function, method, prelude::*, Error, RArray, RHash, RModule, Ruby, Value as RValue};
use tokio_util::sync::CancellationToken;

use crate::convert;
use crate::errors::to_ruby;
use crate::gvl::without_gvl;
use crate::ocore::{self, runtime, Blocker, CallOptions, Code, Metadata, MethodRow};
use crate::schema::{method_rows, Schema};
use crate::stream::NativeStream;
use crate::walk::{RbIn, RbOut};

/// `HmsFfi::CancelToken`: cancels the calls it was passed to (`call(…, cancel: token)`), from
/// any Ruby thread, through the core's `CallOptions::cancel`: a cancelled call fails with
/// `HmsFfi::Cancelled` and the server's handler sees its context cancelled. One token may
/// cancel several calls.
#[magnus::wrap(class = "HmsFfi::CancelToken", free_immediately, size)]
pub(crate) struct CancelToken {
    pub(crate) inner: CancellationToken,
}

impl CancelToken {
    fn new() -> CancelToken {
        CancelToken {
            inner: CancellationToken::new(),
        }
    }

    /// Cancels every call made with this token, now and later.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// True once #cancel was called.
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// A connection to a server; `lib/hms_ffi/client.rb` adds keyword arguments.
#[magnus::wrap(class = "HmsFfi::Client", free_immediately, size)]
pub(crate) struct Client {
    pub(crate) inner: ocore::Client,
}

/// How a Ruby thread waits in a call: it polls for the reply for up to [`ruby_spin`] holding the
/// GVL (giving it up and taking it back costs tens of microseconds on Ruby 3.1, more than a
/// local call takes), then gives the GVL up while it blocks. Ruby's interrupts
/// (`Thread#raise`, `Thread#kill`, Ctrl-C) cancel the call through `interrupt`.
pub(crate) struct RubyWait<'a> {
    ruby: &'a Ruby,
    interrupt: &'a CancellationToken,
    interrupted: AtomicBool,
    /// The exception a pending interrupt raised, for the caller once the call has ended.
    raised: RefCell<Option<Error>>,
}

/// How long a Ruby thread polls with the GVL held before it blocks without it: at least 150 µs
/// (more than giving the GVL up and taking it back costs), unless `HMS_FFI_SPIN_US=0` turns
/// polling off.
pub(crate) fn ruby_spin() -> Duration {
    let spin = runtime::spin_time();
    if spin.is_zero() {
        return spin;
    }
    spin.max(Duration::from_micros(150))
}

impl ocore::Blocker for RubyWait<'_> {
    fn block(&self, wait: &mut dyn FnMut()) {
        loop {
            let (interrupted, interrupt) = (&self.interrupted, self.interrupt);
            let cancel = || {
                interrupted.store(true, Ordering::SeqCst);
                interrupt.cancel();
            };
            if without_gvl(&mut *wait, &cancel).is_some() {
                return;
            }
            // Not run: an interrupt was pending. A trap handler runs and the wait goes on; an
            // exception ends the call and is raised once it has.
            if let Err(e) = self.ruby.thread_check_ints() {
                *self.raised.borrow_mut() = Some(e);
                cancel();
                return;
            }
        }
    }

    fn spin(&self) -> Duration {
        ruby_spin()
    }
}

/// Runs `call`, whose waits go through a [`RubyWait`] cancelling `interrupt`; after an
/// interrupt, raises it, or fails with `Cancelled` when it raised nothing.
pub(crate) fn block_interruptibly<T>(
    ruby: &Ruby,
    interrupt: &CancellationToken,
    call: impl FnOnce(&RubyWait<'_>) -> ocore::Result<T>,
) -> Result<T, Error> {
    let wait = RubyWait {
        ruby,
        interrupt,
        interrupted: AtomicBool::new(false),
        raised: RefCell::new(None),
    };
    let r = call(&wait);
    if let Some(e) = wait.raised.take() {
        return Err(e);
    }
    if wait.interrupted.load(Ordering::SeqCst) {
        ruby.thread_check_ints()?;
        if r.is_err() {
            return Err(interrupted_error(ruby));
        }
    }
    r.map_err(|e| to_ruby(ruby, e))
}

fn interrupted_error(ruby: &Ruby) -> Error {
    to_ruby(
        ruby,
        ocore::Error::new(Code::Cancelled, "the call was interrupted"),
    )
}

/// `HmsFfi._connect(uris, schema, resilience, expect_schema)`: connects to the endpoints (of
/// one service) and discovers the server's schema, or uses `schema` (for servers without
/// discovery, such as a stock gRPC server). `resilience` is the core's options as JSON
/// (`docs/resilience.md`); `expect_schema` the schema the caller was built against, whose
/// methods the server's schema breaks are refused (`docs/evolution.md`); `revision` the schema
/// revision to speak (a label or fingerprint the server announces).
fn connect(
    ruby: &Ruby,
    uris: Vec<String>,
    schema: Option<&Schema>,
    resilience: Option<String>,
    expect_schema: Option<&Schema>,
    converters: Vec<(String, String)>,
    revision: Option<String>,
) -> Result<Client, Error> {
    let resilience = match resilience {
        Some(json) => ocore::Resilience::from_json(&json).map_err(|e| to_ruby(ruby, e))?,
        None => ocore::Resilience::default(),
    };
    let options = ocore::ConnectOptions {
        schema: schema.map(|s| s.inner.clone()),
        resilience,
        expect_schema: expect_schema.map(|s| s.inner.clone()),
        converters: convert::registry(ruby, converters)?,
        revision,
        ..Default::default()
    };
    let interrupt = CancellationToken::new();
    let inner = block_interruptibly(ruby, &interrupt, |wait| {
        let mut connected = Err(ocore::Error::new(Code::Cancelled, "interrupted"));
        let mut options = Some(options);
        wait.block(&mut || {
            let Some(options) = options.take() else { return };
            let refs: Vec<&str> = uris.iter().map(String::as_str).collect();
            connected = runtime::block_on(async {
                tokio::select! {
                    r = ocore::connect_all(&refs, options) => r,
                    _ = interrupt.cancelled() => Err(ocore::Error::new(Code::Cancelled, "interrupted")),
                }
            })
            .and_then(|r| r);
        });
        connected
    })?;
    Ok(Client { inner })
}

/// `wait_for_ready:` as the core's option: `nil` (the client's default), `true` or `false`;
/// anything else is `HmsFfi::InvalidArgument`.
pub(crate) fn wait_for_ready(ruby: &Ruby, value: Option<RValue>) -> Result<Option<bool>, Error> {
    match value {
        None => Ok(None),
        Some(v) if v.is_nil() => Ok(None),
        Some(v) if v.is_kind_of(ruby.class_true_class()) => Ok(Some(true)),
        Some(v) if v.is_kind_of(ruby.class_false_class()) => Ok(Some(false)),
        Some(v) => Err(to_ruby(
            ruby,
            ocore::Error::new(
                Code::InvalidArgument,
                format!(
                    "wait_for_ready must be true, false or nil, got {}",
                    v.inspect()
                ),
            ),
        )),
    }
}

pub(crate) fn metadata(metadata: Option<RHash>) -> Result<Metadata, Error> {
    let mut md = Metadata::new();
    if let Some(h) = metadata {
        h.foreach(|k: RValue, v: RValue| {
            md.insert(
                k.funcall::<_, _, String>("to_s", ())?,
                v.funcall::<_, _, String>("to_s", ())?,
            );
            Ok(ForEach::Continue)
        })?;
    }
    Ok(md)
}

impl Client {
    /// `_call(method, request, timeout, metadata, cancel, with_metadata, detach,
    /// wait_for_ready)`: a unary call; the
    /// reply as a Hash, or `[reply, headers, trailers]` when `with_metadata` (response metadata
    /// as Hashes of Strings, the first value of each key).
    #[allow(clippy::too_many_arguments)]
    fn call(
        ruby: &Ruby,
        rb_self: &Client,
        method: String,
        request: RValue,
        timeout: Option<f64>,
        md: Option<RHash>,
        cancel: Option<&CancelToken>,
        with_metadata: bool,
        detach: bool,
        wait: Option<RValue>,
        convs: Option<RArray>,
    ) -> Result<RValue, Error> {
        // Cancelled by the caller's token and by a Ruby interrupt, which leaves the token as is.
        let interrupt = cancel.map_or_else(CancellationToken::new, |c| c.inner.child_token());
        let opts = CallOptions {
            timeout: timeout.map(|t| Duration::from_secs_f64(t.max(0.0))),
            metadata: metadata(md)?,
            cancel: Some(interrupt.clone()),
            detach,
            wait_for_ready: wait_for_ready(ruby, wait)?,
            ..CallOptions::default()
        };
        let client = &rb_self.inner;
        // The core walks `request` and makes the reply's objects (walk.rs), holding the GVL.
        let request = RbIn::new(ruby, request, convs, false);
        let mut out = RbOut::new(ruby, convs);
        let mut raised = None;
        let reply = block_interruptibly(ruby, &interrupt, |wait| {
            client
                .call_native_blocking_in(&method, &request, &opts, wait, &mut out)
                .unwrap_or_else(|e| {
                    raised = Some(e);
                    Err(ocore::Error::new(Code::Internal, "raised"))
                })
        });
        if let Some(e) = raised {
            return Err(e);
        }
        let reply = reply?;
        let message = reply.message;
        if !with_metadata {
            return Ok(message);
        }
        let out = ruby.ary_new_capa(3);
        out.push(message)?;
        out.push(reply.headers.first_values())?;
        out.push(reply.trailers.first_values())?;
        Ok(out.as_value())
    }

    /// `_open_stream(method, timeout, metadata, cancel, wait_for_ready)`: a streaming call of
    /// any kind.
    fn open_stream(
        ruby: &Ruby,
        rb_self: &Client,
        method: String,
        timeout: Option<f64>,
        md: Option<RHash>,
        cancel: Option<&CancelToken>,
        wait: Option<RValue>,
    ) -> Result<NativeStream, Error> {
        let opts = CallOptions {
            timeout: timeout.map(|t| Duration::from_secs_f64(t.max(0.0))),
            metadata: metadata(md)?,
            wait_for_ready: wait_for_ready(ruby, wait)?,
            ..CallOptions::default()
        };
        let cancel = cancel.map(|c| &c.inner);
        NativeStream::open(ruby, &rb_self.inner, &method, opts, cancel)
    }

    /// Every method the server offers, as `[name, input type, output type, kind]`.
    fn methods(&self) -> Vec<MethodRow> {
        method_rows(self.inner.schema())
    }

    /// The server's schema.
    fn schema(&self) -> Schema {
        Schema {
            inner: self.inner.schema().clone(),
        }
    }

    /// The schema version the server announced, `[fingerprint, subject, version]`, or `nil`
    /// when the schema was given rather than discovered.
    fn schema_version(&self) -> Option<(String, String, u32)> {
        let v = self.inner.schema_version()?;
        Some((v.fingerprint.clone(), v.subject.clone(), v.version))
    }

    /// The fingerprint of the schema revision this client speaks, `nil` for the main schema.
    fn revision(&self) -> Option<String> {
        self.inner.revision().map(str::to_string)
    }

    /// The revisions the server announced beside its main schema, `{label => fingerprint}`.
    fn revisions(&self) -> HashMap<String, String> {
        let v = self.inner.schema_version();
        v.map(|v| v.revisions.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The methods of `expect_schema` the server's schema breaks, each with its findings.
    fn incompatible_methods(&self) -> HashMap<String, Vec<String>> {
        self.inner.incompatible_method_texts().into_iter().collect()
    }

    /// The endpoint connected to.
    fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// The connection's state: `"idle"`, `"connecting"`, `"ready"`, `"transient_failure"` or
    /// `"shutdown"` (with several endpoints, the best of theirs).
    fn state(&self) -> &'static str {
        self.inner.state().name()
    }

    /// Where calls go now, while connected: for `auto://NAME` the transport it picked, else
    /// the endpoint itself; `nil` while no connection is up.
    fn transport(&self) -> Option<String> {
        self.inner.transport()
    }

    /// Each endpoint as `[uri, state, ejected, connected]`, in the order given to `connect`.
    fn endpoints(&self) -> Vec<(String, &'static str, bool, Option<String>)> {
        let all = self.inner.endpoints().into_iter();
        all.map(|e| (e.endpoint, e.state.name(), e.ejected, e.connected))
            .collect()
    }

    /// Closes the connection.
    fn close(&self) {
        self.inner.close();
    }
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    module.define_module_function("_connect", function!(connect, 6))?;
    let class = module.define_class("CancelToken", ruby.class_object())?;
    class.define_singleton_method("new", function!(CancelToken::new, 0))?;
    class.define_method("cancel", method!(CancelToken::cancel, 0))?;
    class.define_method("cancelled?", method!(CancelToken::cancelled, 0))?;

    let class = module.define_class("Client", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("_call", method!(Client::call, 9))?;
    class.define_method("_batch", method!(crate::batch::batch, 7))?;
    class.define_method("_open_stream", method!(Client::open_stream, 5))?;
    class.define_method("methods", method!(Client::methods, 0))?;
    class.define_method("schema", method!(Client::schema, 0))?;
    class.define_method("revision", method!(Client::revision, 0))?;
    class.define_method("revisions", method!(Client::revisions, 0))?;
    class.define_method("_schema_version", method!(Client::schema_version, 0))?;
    let incompatible = method!(Client::incompatible_methods, 0);
    class.define_method("incompatible_methods", incompatible)?;
    class.define_method("endpoint", method!(Client::endpoint, 0))?;
    class.define_method("state", method!(Client::state, 0))?;
    class.define_method("transport", method!(Client::transport, 0))?;
    class.define_method("_endpoints", method!(Client::endpoints, 0))?;
    class.define_method("close", method!(Client::close, 0))?;
    Ok(())
}
