//! [`Client`]: blocking and `async` unary calls over typed JSON text or protobuf bytes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::context::{entries, CallOptions, MetadataEntry};
use crate::error::HmsResult;
use crate::ocore::{self, mapping::notation, StreamCall};
use crate::runtime::on_runtime;
use crate::schema::SchemaVersion;
use crate::stream::ClientStream;

/// A reply with the response headers and trailers the handler set.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CallReply {
    /// The reply as typed JSON.
    pub message: String,
    /// The response headers (gRPC initial metadata).
    pub headers: Vec<MetadataEntry>,
    /// The response trailers (gRPC trailing metadata).
    pub trailers: Vec<MetadataEntry>,
}

impl From<ocore::Reply<ocore::Value>> for CallReply {
    fn from(r: ocore::Reply<ocore::Value>) -> CallReply {
        CallReply {
            message: notation::to_text(&r.message),
            headers: entries(&r.headers),
            trailers: entries(&r.trailers),
        }
    }
}

/// One endpoint of a client.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EndpointStatus {
    /// Its URI.
    pub uri: String,
    /// Its connection state (as [`Client::state`]).
    pub state: String,
    /// Taken out of the rotation after failing (readmitted after a while).
    pub ejected: bool,
    /// Where its connection goes while it is up (for `auto://NAME` the transport it picked).
    pub connected: Option<String>,
}

/// A connection to a server; calls may run concurrently from any thread.
#[derive(Debug, uniffi::Object)]
pub struct Client(pub(crate) ocore::Client);

/// Connects to `uri` without blocking the caller; the schema is discovered from the server.
/// `converters`: as for [`Client::connect_all`].
#[uniffi::export(default(converters = []))]
pub async fn connect_async(
    uri: String,
    converters: Vec<crate::ConverterTarget>,
) -> HmsResult<Arc<Client>> {
    let options = ocore::ConnectOptions {
        converters: crate::converters::registry(converters),
        ..Default::default()
    };
    let client = on_runtime(async move { ocore::connect_with(&uri, options).await }).await?;
    Ok(Arc::new(Client(client)))
}

#[uniffi::export]
impl Client {
    /// Connects to `uri` (blocking); the schema is discovered from the server.
    #[uniffi::constructor]
    pub fn connect(uri: String) -> HmsResult<Arc<Client>> {
        Ok(Arc::new(Client(ocore::connect_blocking(&uri)?)))
    }

    /// Connects to `uri` with a given schema (for stock gRPC servers without discovery).
    #[uniffi::constructor]
    pub fn connect_with_schema(uri: String, schema: Arc<crate::Schema>) -> HmsResult<Arc<Client>> {
        let options = ocore::ConnectOptions {
            schema: Some(schema.0.clone()),
            ..Default::default()
        };
        let client = ocore::runtime::block_on(ocore::connect_with(&uri, options))??;
        Ok(Arc::new(Client(client)))
    }

    /// Connects to `uris` (one or several endpoints of one service, blocking). `schema`: as in
    /// [`connect_with_schema`](Client::connect_with_schema) (`None`: discover it);
    /// `resilience`: the core's options as JSON (`docs/resilience.md`: reconnect backoff,
    /// retry and hedging policies, keepalive, load balancing); bad options are
    /// `InvalidArgument`. `expect_schema`: the schema the caller was built against; the methods
    /// the server's schema breaks are listed by
    /// [`incompatible_methods`](Client::incompatible_methods) and refused with
    /// `FailedPrecondition` (`docs/evolution.md`, "Versions at connect"). `converters`: the
    /// targets of the caller's converters (docs/converters.md); a reply value the core
    /// converts comes as `{"$converted": {"index": i, "value": …}}`, `i` its target's position.
    /// `revision`: a schema revision the server serves beside its main one (label or
    /// fingerprint), which every call then asks for with the `hms-schema-revision` metadata
    /// entry.
    #[uniffi::constructor(default(converters = [], revision = None))]
    pub fn connect_all(
        uris: Vec<String>,
        schema: Option<Arc<crate::Schema>>,
        resilience: Option<String>,
        expect_schema: Option<Arc<crate::Schema>>,
        converters: Vec<crate::ConverterTarget>,
        revision: Option<String>,
    ) -> HmsResult<Arc<Client>> {
        let resilience = match resilience {
            Some(json) => ocore::Resilience::from_json(&json)?,
            None => ocore::Resilience::default(),
        };
        let options = ocore::ConnectOptions {
            schema: schema.map(|s| s.0.clone()),
            resilience,
            expect_schema: expect_schema.map(|s| s.0.clone()),
            converters: crate::converters::registry(converters),
            revision,
            ..Default::default()
        };
        let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
        let client = ocore::runtime::block_on(ocore::connect_all(&uris, options))??;
        Ok(Arc::new(Client(client)))
    }

    /// The connection's state: `idle` (lost; the next call reconnects), `connecting`, `ready`,
    /// `transient_failure` (waiting to retry) or `shutdown`; with several endpoints, the best
    /// of theirs.
    pub fn state(&self) -> String {
        self.0.state().name().to_string()
    }

    /// Where calls go now, while connected: for `auto://NAME` the transport it picked
    /// (`inproc://NAME`, `shm://NAME`, a `unix://` socket or a network URI), else the endpoint
    /// itself; none while no connection is up.
    pub fn transport(&self) -> Option<String> {
        self.0.transport()
    }

    /// Each endpoint given to `connect_all`, in order.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        let all = self.0.endpoints().into_iter();
        all.map(|e| EndpointStatus {
            uri: e.endpoint,
            state: e.state.name().to_string(),
            ejected: e.ejected,
            connected: e.connected,
        })
        .collect()
    }

    /// Calls a unary method with typed JSON text; returns the reply as typed JSON (blocking).
    pub fn call(&self, method: String, request: String, options: CallOptions) -> HmsResult<String> {
        let request = notation::from_text(&request)?;
        let reply = self.0.call_blocking(&method, &request, &options.into())?;
        Ok(notation::to_text(&reply))
    }

    /// [`call`](Client::call) without blocking (a Kotlin `suspend fun`, a Swift `async func`);
    /// cancelling the coroutine or task cancels the call.
    pub async fn call_async(
        &self,
        method: String,
        request: String,
        options: CallOptions,
    ) -> HmsResult<String> {
        let request = notation::from_text(&request)?;
        let client = self.0.clone();
        let reply =
            on_runtime(async move { client.call(&method, &request, &options.into()).await })
                .await?;
        Ok(notation::to_text(&reply))
    }

    /// [`call`](Client::call), returning the response headers and trailers too (an error's are
    /// in its details).
    pub fn call_with_metadata(
        &self,
        method: String,
        request: String,
        options: CallOptions,
    ) -> HmsResult<CallReply> {
        let request = notation::from_text(&request)?;
        let options = options.into();
        Ok(self
            .0
            .call_with_metadata_blocking(&method, &request, &options)?
            .into())
    }

    /// [`call_with_metadata`](Client::call_with_metadata) without blocking.
    pub async fn call_with_metadata_async(
        &self,
        method: String,
        request: String,
        options: CallOptions,
    ) -> HmsResult<CallReply> {
        let request = notation::from_text(&request)?;
        let client = self.0.clone();
        let reply = on_runtime(async move {
            client
                .call_with_metadata(&method, &request, &options.into())
                .await
        })
        .await?;
        Ok(reply.into())
    }

    /// Calls a unary method with the request message's protobuf bytes; returns the reply's.
    pub fn call_raw(
        &self,
        method: String,
        request: Vec<u8>,
        options: CallOptions,
    ) -> HmsResult<Vec<u8>> {
        let options = options.into();
        let reply = self
            .0
            .call_raw_with_metadata_blocking(&method, request.into(), &options)?;
        Ok(reply.message.to_vec())
    }

    /// [`call_raw`](Client::call_raw) without blocking.
    pub async fn call_raw_async(
        &self,
        method: String,
        request: Vec<u8>,
        options: CallOptions,
    ) -> HmsResult<Vec<u8>> {
        let client = self.0.clone();
        let reply = on_runtime(async move {
            client
                .call_raw(&method, request.into(), &options.into())
                .await
        })
        .await?;
        Ok(reply.to_vec())
    }

    /// Opens a streaming call of any kind (blocking until the connection is ready); the
    /// options' timeout bounds the whole stream and their token cancels it.
    pub fn open_stream(
        &self,
        method: String,
        options: CallOptions,
    ) -> HmsResult<Arc<ClientStream>> {
        let call = StreamCall::open_blocking(&self.0, &method, &options.into())?;
        Ok(Arc::new(ClientStream(Arc::new(call))))
    }

    /// [`open_stream`](Client::open_stream) without blocking.
    pub async fn open_stream_async(
        &self,
        method: String,
        options: CallOptions,
    ) -> HmsResult<Arc<ClientStream>> {
        let client = self.0.clone();
        let call =
            on_runtime(async move { StreamCall::open(&client, &method, &options.into()).await })
                .await?;
        Ok(Arc::new(ClientStream(Arc::new(call))))
    }

    /// The methods the server offers, `package.Service/Method`.
    pub fn methods(&self) -> Vec<String> {
        self.0.schema().method_names()
    }

    /// The schema version the server announced in discovery; none when the schema was given
    /// rather than discovered.
    pub fn schema_version(&self) -> Option<SchemaVersion> {
        self.0.schema_version().map(SchemaVersion::from)
    }

    /// The fingerprint of the schema revision this client speaks; `None` for the main schema.
    pub fn revision(&self) -> Option<String> {
        self.0.revision().map(str::to_string)
    }

    /// The revisions the server announced beside its main schema, label → fingerprint.
    pub fn revisions(&self) -> HashMap<String, String> {
        let v = self.0.schema_version();
        v.map(|v| v.revisions.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The methods of `expect_schema` the server's schema breaks, each with its findings
    /// (`path:line:column:RULE_ID message`).
    pub fn incompatible_methods(&self) -> HashMap<String, Vec<String>> {
        self.0.incompatible_method_texts().into_iter().collect()
    }

    /// The endpoint connected to.
    pub fn endpoint(&self) -> String {
        self.0.endpoint().to_string()
    }

    /// Closes the connection; calls in flight and after it fail with `Cancelled`
    /// (`CLIENT_CLOSED`).
    pub fn disconnect(&self) {
        self.0.close()
    }
}
