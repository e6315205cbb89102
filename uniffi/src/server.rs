//! [`Server`]: serves a schema's methods with foreign handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::context::CallContext;
use crate::error::HmsResult;
use crate::handler::{Handler, RawHandler};
use crate::ocore::handler::{run_blocking, BoxFuture};
use crate::ocore::{self, mapping::notation};
use crate::stream::{ServerStream, StreamHandler};

/// A foreign streaming handler as the core runs it: on the blocking pool, for the whole call.
struct Foreign(Arc<dyn StreamHandler>);

impl ocore::handler::StreamHandler for Foreign {
    fn call(
        &self,
        requests: ocore::RequestStream,
        sink: ocore::ResponseSink,
        ctx: ocore::Context,
    ) -> BoxFuture<'static, ocore::Result<()>> {
        let handler = self.0.clone();
        let stream = Arc::new(ServerStream(Arc::new(ocore::ServerStream::new(
            requests, sink,
        ))));
        Box::pin(run_blocking(move || {
            handler
                .handle(stream, Arc::new(CallContext(ctx)))
                .map_err(ocore::Error::from)
        }))
    }
}

/// A server: register handlers, listen on endpoints, shut down gracefully.
#[derive(Debug, uniffi::Object)]
pub struct Server(ocore::Server);

#[uniffi::export]
impl Server {
    /// A server for `schema`; `language` names the handlers' language in error origins;
    /// `security` is the path of a security file (policy, bearer tokens, limits, audit; see
    /// docs/security.md): a bad file is `INVALID_ARGUMENT`; `service_config` is the JSON text
    /// of the gRPC service config discovery announces, which clients that discover the schema
    /// and were given no config of their own call by (docs/resilience.md): a bad one is
    /// `INVALID_ARGUMENT`; `converters` the targets of the converters the handlers' values go
    /// through (docs/converters.md): a value the core converts reaches a handler as
    /// `{"$converted": {"index": i, "value": …}}`, `i` its target's position in the list.
    #[uniffi::constructor(default(security = None, service_config = None, converters = []))]
    pub fn new(
        schema: Arc<crate::Schema>,
        language: String,
        security: Option<String>,
        service_config: Option<String>,
        converters: Vec<crate::ConverterTarget>,
    ) -> HmsResult<Arc<Server>> {
        let options = ocore::BindingOptions {
            security: security.map(Into::into),
            service_config,
            converters: crate::converters::registry(converters),
            ..Default::default()
        };
        let options = ocore::ServerOptions::for_binding(&language, options)?;
        Ok(Arc::new(Server(ocore::Server::with_options(
            schema.0.clone(),
            options,
        ))))
    }

    /// Registers `handler` for the unary `method`, exchanging typed JSON text. The handler runs
    /// on the thread that read the call (an `inproc://` caller's own, a `unix://` connection's),
    /// and may block: the core has another thread go on with the connection's other calls (see
    /// `docs/architecture.md`, "Threads").
    pub fn handle(&self, method: String, handler: Arc<dyn Handler>) -> HmsResult<()> {
        Ok(self.0.unary_inline(&method, move |req, ctx| {
            let reply = handler.handle(notation::to_text(&req), Arc::new(CallContext(ctx)))?;
            // A reply the handler got wrong is the server's fault: the core's rule.
            notation::from_text(&reply).map_err(ocore::Error::invalid_reply)
        })?)
    }

    /// Registers `handler` for the unary `method`, exchanging protobuf bytes (run as
    /// [`handle`](Server::handle) runs its handler).
    pub fn handle_raw(&self, method: String, handler: Arc<dyn RawHandler>) -> HmsResult<()> {
        Ok(self.0.unary_raw(&method, move |req, ctx| {
            let handler = handler.clone();
            async move {
                ocore::handler::run_inline(move || {
                    let reply = handler.handle(req.to_vec(), Arc::new(CallContext(ctx)))?;
                    Ok(reply.into())
                })
            }
        })?)
    }

    /// Registers `handler` for the streaming `method` (server-, client- or bidi-streaming),
    /// exchanging typed JSON text; it runs on a thread of the blocking pool for the whole
    /// stream. A unary method is refused with `FailedPrecondition`.
    pub fn handle_stream(&self, method: String, handler: Arc<dyn StreamHandler>) -> HmsResult<()> {
        Ok(self.0.stream_handler(&method, Arc::new(Foreign(handler)))?)
    }

    /// Serves `schema` beside the main one as the revision `label`; returns its fingerprint. A
    /// call whose `hms-schema-revision` metadata names its label or fingerprint speaks it
    /// (`docs/evolution.md`); a label or schema already served is `ALREADY_EXISTS`.
    pub fn add_revision(&self, label: String, schema: Arc<crate::Schema>) -> HmsResult<String> {
        Ok(self.0.add_revision(&label, schema.0.clone())?)
    }

    /// A handle on this server whose `handle*` registrations go to the revision `label` (or
    /// fingerprint); everything else acts on the whole server. `NOT_FOUND` for an unknown one.
    pub fn revision(&self, label: String) -> HmsResult<Arc<Server>> {
        Ok(Arc::new(Server(self.0.revision(&label)?)))
    }

    /// The revisions served beside the main schema, label → fingerprint.
    pub fn revisions(&self) -> HashMap<String, String> {
        self.0.revisions().into_iter().collect()
    }

    /// Serves the main schema's `method` with the handler of `revision`, after checking that
    /// the method reads alike on the wire in both (`FAILED_PRECONDITION`,
    /// `INCOMPATIBLE_SCHEMA` otherwise).
    pub fn bridge(&self, revision: String, method: String) -> HmsResult<()> {
        Ok(self.0.bridge(&revision, &method)?)
    }

    /// Listens on `uri` (`inproc://name`, `unix:///path.sock`, `grpc://host:port`); returns
    /// the endpoint as bound. May be called for several URIs.
    pub fn listen(&self, uri: String) -> HmsResult<String> {
        Ok(self.0.listen(&uri)?)
    }

    /// Starts the admin listener on `uri` (`http://host:port`; port 0 picks a free one):
    /// `/metrics` (Prometheus text), `/healthz` and the live monitoring page at `/`. Returns the
    /// URI bound; it stops with the server.
    pub fn admin(&self, uri: String) -> HmsResult<String> {
        Ok(self.0.admin(&uri)?)
    }

    /// The endpoints listened on.
    pub fn endpoints(&self) -> Vec<String> {
        self.0.endpoints()
    }

    /// The schema version discovery announces (subject and version once set).
    pub fn schema_version(&self) -> crate::schema::SchemaVersion {
        (&self.0.schema_version()).into()
    }

    /// Records the registry subject and version of the schema served (announced in discovery).
    pub fn set_schema_version(&self, subject: String, version: u32) {
        self.0.set_schema_version(&subject, version)
    }

    /// Calls in flight.
    pub fn inflight(&self) -> u64 {
        self.0.inflight() as u64
    }

    /// Graceful stop: refuses new calls, lets calls in flight finish for up to `grace_ms`, then
    /// cancels the rest and closes every endpoint. Blocks until done.
    pub fn shutdown(&self, grace_ms: u64) -> HmsResult<()> {
        Ok(self.0.shutdown_blocking(Duration::from_millis(grace_ms))?)
    }
}
