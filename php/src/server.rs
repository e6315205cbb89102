//! `HmsFfi\Server`: handlers run on the PHP thread inside `serve()`, which takes the calls the
//! core queued for this server ([`ocore::CallQueue`]) one at a time.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, ZendHashTable, Zval};

use crate::converters::Convs;
use crate::errors::{self, php_result};
use crate::ocore::{self, Code};
use crate::pump::{Handlers, Step};
use crate::schema::{version_array, Schema};

/// How long `serve()` waits for a call at a time (closing the queue wakes it at once).
const POLL: Duration = Duration::from_millis(250);

/// A server for a schema; its handlers run on the PHP thread inside `serve()`.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Server")]
pub struct Server {
    inner: Arc<ocore::Server>,
    handlers: Rc<Handlers>,
    serving: Cell<bool>,
    signals: Cell<bool>,
}

/// The core's SIGINT/SIGTERM handler also calls the handler it replaced, and Zend's own ends the
/// process: tell Zend to ignore both (with pcntl, when loaded), once per process, before the core
/// takes them, so that the signals only end `serve()`.
fn quiet_zend_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(pcntl_signal) = ZendCallable::try_from_name("pcntl_signal") {
            for signal in [2i64, 15] {
                // SIG_IGN is 1 in PHP.
                let _ = pcntl_signal.try_call(vec![&signal, &1i64]);
            }
        }
    });
}

/// An option that must be a non-negative int, if given; anything else is refused rather than
/// silently replaced by the default.
fn option_usize(options: Option<&ZendHashTable>, key: &str) -> PhpResult<Option<usize>> {
    let Some(v) = options.and_then(|o| o.get(key)) else {
        return Ok(None);
    };
    v.long()
        .and_then(|n| usize::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| errors::bad_option(format!("'{key}' must be a non-negative int")))
}

#[php_impl]
impl Server {
    /// A server for `$schema`. Options: `max_message_bytes`, `max_concurrent_per_connection`,
    /// `security` (the path of a security file, docs/security.md; a bad file throws
    /// `InvalidArgumentException`), `service_config` (a gRPC service config, an array or its
    /// JSON text, announced in discovery: clients that discover the schema and were given no
    /// config of their own call by it, docs/resilience.md; a bad one throws
    /// `InvalidArgumentException`), `converters` (a list of `HmsFfi\Converter` for custom
    /// domain types, docs/converters.md; absent, the built-ins `Converter::builtins()`; `[]`
    /// for none).
    ///
    /// @param array{max_message_bytes?: int, max_concurrent_per_connection?: int, security?: string, service_config?: array<string, mixed>|string, converters?: list<Converter>} $options
    pub fn __construct(schema: &Schema, options: Option<&ZendHashTable>) -> PhpResult<Server> {
        // A security option that is not a path is refused: dropping it would serve without
        // the policy and limits it names.
        let security = match options.and_then(|o| o.get("security")) {
            Some(v) => Some(v.string().ok_or_else(|| {
                errors::bad_option("'security' must be the path of a security file".into())
            })?),
            None => None,
        };
        let service_config = match options.and_then(|o| o.get("service_config")) {
            Some(v) => Some(crate::options::json_text(v, "service_config")?),
            None => None,
        };
        let convs = Convs::from_option(options.and_then(|o| o.get("converters")))?;
        let opts = ocore::BindingOptions {
            max_message_bytes: option_usize(options, "max_message_bytes")?,
            max_concurrent_per_connection: option_usize(options, "max_concurrent_per_connection")?,
            security: security.map(Into::into),
            decode: crate::convert::DECODE,
            service_config,
            converters: convs.registry(),
        };
        let opts = php_result(ocore::ServerOptions::for_binding("php", opts))?;
        let inner = Arc::new(ocore::Server::with_options(schema.inner.clone(), opts));
        Ok(Server {
            handlers: Handlers::new(inner.clone(), convs),
            inner,
            serving: Cell::new(false),
            signals: Cell::new(false),
        })
    }

    /// Registers the handler of a method (`package.Service/Method`); it runs inside `serve()`,
    /// on this thread. Unary: `$handler(array $request, Context $ctx): array`. Streaming, by the
    /// method's kind: server-streaming `(array $request, Context $ctx): iterable` (a
    /// `Generator` that yields the replies), client-streaming `(Requests $requests, Context
    /// $ctx): array`, bidi `(Requests $requests, Context $ctx): iterable`; `Requests` reads as
    /// it is iterated, and each reply is sent as the caller reads it.
    ///
    /// With `$revision`, the handler serves that schema revision (`addRevision()`).
    ///
    /// @param callable(mixed, Context): mixed $handler
    pub fn method(&self, name: &str, handler: &Zval, revision: Option<&str>) -> PhpResult<()> {
        let handler = ZendCallable::new_owned(handler.shallow_clone()).map_err(|_| {
            errors::to_php(ocore::Error::new(
                Code::InvalidArgument,
                format!("the handler for {name} is not callable"),
            ))
        })?;
        let target = php_result(self.inner.on_revision(revision))?;
        let kind = php_result(target.schema().require_method(name))?.kind();
        php_result(match kind {
            ocore::StreamingKind::Unary => target.unary_queued_native(name, &self.handlers.queue),
            _ => target.stream_queued(name, &self.handlers.queue),
        })?;
        let key = php_result(target.queue_key(name))?;
        self.handlers.insert(key, handler, kind);
        Ok(())
    }

    /// Serves `$schema` beside the main one as the revision `$label`; returns its fingerprint.
    /// A call whose `hms-schema-revision` metadata names its label or fingerprint speaks it
    /// (`Client::connect($uri, null, ['revision' => $label])` sends it); a label or schema
    /// already served throws `AlreadyExistsException` (docs/evolution.md).
    pub fn add_revision(&self, label: &str, schema: &Schema) -> PhpResult<String> {
        php_result(self.inner.add_revision(label, schema.inner.clone()))
    }

    /// The revisions served beside the main schema, `[label => fingerprint]`.
    ///
    /// @return array<string, string>
    pub fn revisions(&self) -> BTreeMap<String, String> {
        self.inner.revisions().into_iter().collect()
    }

    /// Serves the main schema's `$method` with the handler registered for it in `$revision`:
    /// a v1 handler answers v2 callers. Throws `FailedPreconditionException` (reason
    /// `INCOMPATIBLE_SCHEMA`) unless the method reads alike on the wire in both.
    pub fn bridge(&self, revision: &str, method: &str) -> PhpResult<()> {
        php_result(self.inner.bridge(revision, method))
    }

    /// Starts listening on an endpoint URI (`inproc://name`, `unix:///path.sock`,
    /// `grpc://host:port`); returns it as bound. Calls wait until `serve()` runs, or until a
    /// client call of this thread waits (it runs them meanwhile).
    pub fn listen(&self, uri: &str) -> PhpResult<String> {
        php_result(self.inner.listen(uri))
    }

    /// Starts the admin listener on `$uri` (`http://127.0.0.1:9464`; port 0 picks a free one):
    /// `/metrics` (Prometheus text), `/healthz` and the live monitoring page at `/`. Returns the
    /// URI bound; it stops with the server.
    pub fn admin(&self, uri: &str) -> PhpResult<String> {
        php_result(self.inner.admin(uri))
    }

    /// Runs handlers on this thread until `shutdown()` (from a handler, for instance), SIGINT or
    /// SIGTERM; then drains and stops the server.
    pub fn serve(&self) -> PhpResult<()> {
        if self.serving.replace(true) {
            return Err(errors::to_php(ocore::Error::new(
                Code::FailedPrecondition,
                "serve() is already running",
            )));
        }
        if !self.signals.replace(true) {
            quiet_zend_signals();
            if let Err(e) = self.handlers.queue.close_on_signals() {
                self.serving.set(false);
                return Err(errors::to_php(e));
            }
        }
        while self.handlers.serve_one(POLL) != Step::Closed {}
        self.serving.set(false);
        // Closed by a signal or a handler: stop the server too (again is harmless).
        php_result(self.handlers.shutdown(Duration::from_secs(5)))
    }

    /// Stops the server: calls still queued get `UNAVAILABLE`, those in flight up to `$grace`
    /// seconds (5 by default); `serve()` returns. From a handler, the stop waits until that
    /// handler's reply is sent.
    pub fn shutdown(&self, grace: Option<f64>) -> PhpResult<()> {
        let grace = Duration::from_secs_f64(grace.unwrap_or(5.0).max(0.0));
        php_result(self.handlers.shutdown(grace))
    }

    /// The endpoints listened on.
    ///
    /// @return list<string>
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// The schema version discovery announces: `['fingerprint' => 'sha256:…', 'subject' => …,
    /// 'version' => …]` (subject and version once `setSchemaVersion()` recorded them).
    ///
    /// @return array{fingerprint: string, subject: string, version: int}
    pub fn schema_version(&self) -> PhpResult<ZBox<ZendHashTable>> {
        version_array(&self.inner.schema_version())
    }

    /// Records the schema registry subject and version of the schema served; discovery
    /// announces them from now on, and clients see them in `Client::schemaVersion()`.
    pub fn set_schema_version(&self, subject: &str, version: u32) {
        self.inner.set_schema_version(subject, version)
    }

    /// True once stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.is_stopped()
    }
}
