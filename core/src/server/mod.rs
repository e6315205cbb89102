//! [`Server`]: a schema, handlers and the endpoints it listens on.

mod admin;
mod catch;
mod dispatch;
#[cfg(test)]
mod host_tests;
#[cfg(test)]
mod led_tests;
mod observe;
mod options;
mod queue;
mod revisions;
mod routes;
mod service;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::handler::{
    Blocking, Inline, NativeHandler, RawFn, RequestStream, ResponseSink, Route, StreamFn,
    StreamHandler, UnaryHandler,
};
use crate::interceptor::Interceptor;
use crate::limits::Limits;
use crate::schema::{MethodInfo, Schema, StreamingKind};
use crate::transport::{self, Endpoint, Listener, Service};
use crate::value::Value;
use dispatch::Dispatcher;
use routes::RouteEntry;

pub use crate::call::{AnnouncedRevision, DescribeResponse, DESCRIBE_METHOD, SCHEMA_REVISION_KEY};
pub use options::{BindingOptions, ServerOptions};
pub use queue::{CallQueue, Next, PendingCall};

/// A server: register handlers for the schema's methods, then [`listen`](Server::listen) on one
/// or more endpoints. Dropping it stops it at once; [`shutdown`](Server::shutdown) drains first.
///
/// ```
/// use hms_ffi_core::{Schema, Server, Value, connect};
/// # fn main() -> hms_ffi_core::Result<()> {
/// let schema = Schema::from_source("greeter.proto", r#"
///     syntax = "proto3"; package demo.v1;
///     message HelloRequest { string name = 1; }
///     message HelloReply { string message = 1; }
///     service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
/// "#)?;
/// let server = Server::new(schema);
/// server.unary("demo.v1.Greeter/SayHello", |req: Value, _ctx| async move {
///     let name = req.get("name").and_then(Value::as_str).unwrap_or("").to_string();
///     Ok(Value::message([("message", Value::from(format!("Hello {name}")))]))
/// })?;
/// server.listen("inproc://doc-greeter")?;
/// let client = hms_ffi_core::connect_blocking("inproc://doc-greeter")?;
/// let reply = client.call_blocking("demo.v1.Greeter/SayHello",
///     &Value::message([("name", Value::from("Ada"))]), &Default::default())?;
/// assert_eq!(reply.get("message").and_then(Value::as_str), Some("Hello Ada"));
/// # Ok(()) }
/// ```
pub struct Server {
    core: Arc<Dispatcher>,
    listeners: Arc<Mutex<Vec<Listener>>>,
    /// Set on a handle from [`revision`](Server::revision): registrations go to that revision.
    revision: Option<Arc<revisions::Revision>>,
    /// False on such a handle: dropping it leaves the server running.
    owner: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("endpoints", &self.endpoints())
            .finish()
    }
}

impl Server {
    /// A server for `schema` with default options.
    pub fn new(schema: Schema) -> Server {
        Server::with_options(schema, ServerOptions::default())
    }

    /// A server with options. The first server or client of a process starts the span export
    /// the `OTEL_*` environment asks for (`docs/observability.md`).
    pub fn with_options(schema: Schema, options: ServerOptions) -> Server {
        crate::transport::init_telemetry();
        Server {
            core: Arc::new(Dispatcher::new(schema, options)),
            listeners: Arc::default(),
            revision: None,
            owner: true,
        }
    }

    /// The schema served (on a [`revision`](Server::revision) handle, that revision's).
    pub fn schema(&self) -> &Schema {
        self.revision
            .as_ref()
            .map_or(&self.core.schema, |r| &r.schema)
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.core.limits
    }

    /// Adds an interceptor at the end of the chain.
    pub fn add_interceptor(&self, interceptor: impl Interceptor) {
        self.core.add_interceptor(Arc::new(interceptor));
    }

    fn check(&self, method: &str, kind: StreamingKind) -> Result<MethodInfo> {
        let info = self.schema().method(method).ok_or_else(|| {
            Error::new(
                Code::NotFound,
                format!(
                    "method {method} is not in the schema (known: {})",
                    self.schema().method_names().join(", ")
                ),
            )
        })?;
        if info.kind() != kind {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!(
                    "method {} is {} but a {} handler was given",
                    info.name,
                    info.kind().name(),
                    kind.name()
                ),
            ));
        }
        Ok(info.clone())
    }

    fn add(&self, info: MethodInfo, route: Route) -> Result<()> {
        let name = info.name.clone();
        let entry = RouteEntry {
            info: Some(info),
            route,
            bridge: None,
        };
        match &self.revision {
            Some(r) => r.add_route(name, entry),
            None => self.core.add_route(name, entry),
        }
        Ok(())
    }

    /// Registers an async unary handler.
    pub fn unary<F, Fut>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value>> + Send + 'static,
    {
        self.unary_handler(method, Arc::new(f))
    }

    /// Registers a unary handler object.
    pub fn unary_handler(&self, method: &str, handler: Arc<dyn UnaryHandler>) -> Result<()> {
        let info = self.check(method, StreamingKind::Unary)?;
        self.add(info, Route::Unary(handler))
    }

    /// Registers a synchronous unary handler that may block; it runs on the blocking pool.
    pub fn unary_blocking<F>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(Value, Context) -> Result<Value> + Send + Sync + 'static,
    {
        self.unary_handler(method, Arc::new(Blocking(Arc::new(f))))
    }

    /// Registers a synchronous unary handler run on the thread serving the call (no thread
    /// hop): for handlers that do not block for long, such as a binding taking its
    /// interpreter's lock. Long blocking work belongs in [`unary_blocking`](Server::unary_blocking).
    pub fn unary_inline<F>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(Value, Context) -> Result<Value> + Send + Sync + 'static,
    {
        self.unary_handler(method, Arc::new(Inline(Arc::new(f))))
    }

    /// Registers a unary method whose calls are put on `queue`, for a binding whose handlers
    /// must run on one interpreter thread (see [`CallQueue`]).
    pub fn unary_queued(&self, method: &str, queue: &CallQueue) -> Result<()> {
        let info = self.check(method, StreamingKind::Unary)?;
        let handler = Arc::new(queue.handler(&info.name, &self.queue_key(&info.name)?));
        self.host_with(queue);
        self.add(info, Route::Unary(handler))
    }

    /// Routes a streaming method's calls (any streaming kind) to `queue`, as
    /// [`unary_queued`](Server::unary_queued) does unary ones: the serving thread takes each
    /// with its [`ServerStream`](crate::ServerStream) and ends it with
    /// [`PendingCall::end`](crate::PendingCall::end).
    pub fn stream_queued(&self, method: &str, queue: &CallQueue) -> Result<()> {
        let name = self.schema().require_method(method)?.name.clone();
        let key = self.queue_key(&name)?;
        self.host_with(queue);
        self.stream_handler(&name, Arc::new(queue.handler(&name, &key)))
    }

    /// Registers a unary handler of a binding that walks its own objects (see
    /// [`NativeHandler`]): it makes its request and reply through the route's
    /// [`Exchange`](crate::Exchange), so no `Value` tree is built for them.
    pub fn unary_native(&self, method: &str, handler: Arc<dyn NativeHandler>) -> Result<()> {
        let info = self.check(method, StreamingKind::Unary)?;
        self.add(info, Route::Native(handler))
    }

    /// Registers a unary handler over protobuf bytes (for callers with generated types).
    pub fn unary_raw<F, Fut>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(Bytes, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Bytes>> + Send + 'static,
    {
        let info = self.check(method, StreamingKind::Unary)?;
        self.add(info, Route::Raw(Arc::new(RawFn(f))))
    }

    /// Registers a handler for a method that has no schema: values travel as CBOR.
    pub fn schemaless<F, Fut>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value>> + Send + 'static,
    {
        if !method.contains('/') {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("method name {method:?} must look like package.Service/Method"),
            ));
        }
        self.core.add_route(
            method.to_string(),
            RouteEntry {
                info: None,
                route: Route::Unary(Arc::new(f)),
                bridge: None,
            },
        );
        Ok(())
    }

    /// Registers a server-streaming handler: one request, responses written to the sink.
    pub fn server_streaming<F, Fut>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(Value, ResponseSink, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let info = self.check(method, StreamingKind::ServerStreaming)?;
        let f = Arc::new(f);
        let h = StreamFn(move |mut input: RequestStream, sink, ctx| {
            let f = f.clone();
            async move {
                let req = input.first().await?;
                f(req, sink, ctx).await
            }
        });
        self.add(info, Route::Stream(Arc::new(h)))
    }

    /// Registers a client-streaming handler: requests read from the stream, one response.
    pub fn client_streaming<F, Fut>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(RequestStream, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value>> + Send + 'static,
    {
        let info = self.check(method, StreamingKind::ClientStreaming)?;
        let f = Arc::new(f);
        let h = StreamFn(move |input, sink: ResponseSink, ctx| {
            let f = f.clone();
            async move { sink.send(&f(input, ctx).await?) }
        });
        self.add(info, Route::Stream(Arc::new(h)))
    }

    /// Registers a bidirectional-streaming handler.
    pub fn bidi_streaming<F, Fut>(&self, method: &str, f: F) -> Result<()>
    where
        F: Fn(RequestStream, ResponseSink, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let info = self.check(method, StreamingKind::Bidi)?;
        self.add(info, Route::Stream(Arc::new(StreamFn(f))))
    }

    /// Registers a streaming handler object for a streaming method of any kind.
    pub fn stream_handler(&self, method: &str, handler: Arc<dyn StreamHandler>) -> Result<()> {
        let info = self.schema().require_method(method)?.clone();
        if info.kind() == StreamingKind::Unary {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!("method {} is unary", info.name),
            ));
        }
        self.add(info, Route::Stream(handler))
    }

    /// Starts listening on `uri` (`inproc://name`, `unix:///path.sock`, `auto://name`, …; see
    /// `docs/transports.md`); may be called for several URIs. Returns the endpoint as bound.
    pub fn listen(&self, uri: &str) -> Result<String> {
        let endpoint: Endpoint = uri.parse()?;
        let listener = transport::listen(&endpoint, self.core.clone() as Arc<dyn Service>)?;
        let bound = listener.uri.clone();
        let mut listeners = self
            .listeners
            .lock()
            .map_err(|_| Error::internal("listener list poisoned"))?;
        listeners.push(listener);
        // An auto:// listener's record lists the server's network endpoints too.
        transport::publish(&listeners);
        Ok(bound)
    }

    /// Replaces the service config discovery announces (see
    /// [`ServerOptions::service_config`]) for clients that connect from now on. A config the
    /// client's parser refuses is `InvalidArgument` (reason `BAD_SERVICE_CONFIG`), and the
    /// config announced so far stays.
    pub fn set_service_config(&self, json: &str) -> Result<()> {
        let config = crate::client::ServiceConfig::from_json(json)?;
        self.core.set_service_config(config);
        Ok(())
    }

    /// The endpoints listened on.
    pub fn endpoints(&self) -> Vec<String> {
        self.listeners
            .lock()
            .map(|l| l.iter().map(|x| x.uri.clone()).collect())
            .unwrap_or_default()
    }

    /// True once the server has stopped (after [`shutdown`](Server::shutdown)).
    pub fn is_stopped(&self) -> bool {
        self.core.stop.is_cancelled()
    }

    /// Resolves once the server has stopped.
    pub async fn stopped(&self) {
        self.core.stop.cancelled().await
    }

    /// Number of calls in flight.
    pub fn inflight(&self) -> usize {
        self.core.inflight()
    }

    /// Graceful stop: stops accepting, lets calls in flight finish for up to `grace`, then
    /// cancels the rest (their callers see `Unavailable`) and closes every endpoint.
    pub async fn shutdown(&self, grace: Duration) {
        self.core.begin_drain();
        let listeners: Vec<Listener> = self
            .listeners
            .lock()
            .map(|mut l| l.drain(..).collect())
            .unwrap_or_default();
        for l in &listeners {
            l.stop_accepting();
        }
        let _ = tokio::time::timeout(grace, self.core.drained()).await;
        self.core.stop.cancel();
        for l in listeners {
            l.close().await;
        }
    }

    /// [`shutdown`](Server::shutdown) from synchronous code.
    pub fn shutdown_blocking(&self, grace: Duration) -> Result<()> {
        crate::runtime::block_on(self.shutdown(grace))
    }

    /// Serves until Ctrl-C (SIGINT) or SIGTERM, then shuts down with `grace`.
    pub async fn serve_until_signal(&self, grace: Duration) -> Result<()> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        self.shutdown(grace).await;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.owner {
            return; // a registration handle: the server goes on
        }
        self.core.begin_drain();
        self.core.stop.cancel();
        if let Ok(mut listeners) = self.listeners.lock() {
            for l in listeners.drain(..) {
                l.stop_accepting();
                l.close_now();
            }
        }
    }
}
