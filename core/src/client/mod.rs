//! [`Client`]: `connect(uri)` then `call(method, request, options)`.

use std::time::{Duration, Instant};
use std::{collections::HashSet, sync::Arc};

use bytes::Bytes;
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::call::JustWait;
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;
use crate::limits::Limits;
use crate::mapping::{json, DecodeOptions};
use crate::metadata::{Metadata, Reply};
use crate::schema::{MethodInfo, Schema, StreamingKind};
use crate::value::Value;

mod attempt;
mod backoff;
mod batch;
mod batch_cbor;
mod channel;
mod connect;
mod dns;
mod health;
mod hedge;
mod policy;
mod pool;
mod resilience;
mod retry;
mod run;
mod send;
mod shared;
mod stream;
mod tracked;
mod unary;

pub use backoff::Backoff;
pub use batch::{EncodedItem, NativeBatch, BATCH_IN_FLIGHT, MAX_BATCH};
pub use channel::ConnState;
pub use connect::{connect, connect_all, connect_blocking, connect_with, ConnectOptions};
pub use policy::{
    is_idempotent, HedgingPolicy, MethodPolicy, RetryPolicy, ServiceConfig, MAX_ATTEMPTS_CAP,
};
pub use pool::EndpointStatus;
pub use resilience::{Ejection, HealthCheck, LoadBalancing, Resilience};
pub use shared::{Batch, StreamCall};
pub use stream::{ClientStream, ResponseDecoder, StreamSender};
pub use unary::{EncodedReply, EncodedRequest};

/// Options for one call.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// How long to wait; the server sees it as the call's deadline.
    pub timeout: Option<Duration>,
    /// Metadata sent with the call.
    pub metadata: Metadata,
    /// Codec for the messages; `Proto` by default, `Cbor` for schemaless methods.
    pub codec: Option<Codec>,
    /// Cancelling this token ends the call with `Cancelled` (the server's handler sees its
    /// context cancelled), for callers whose cancellation is an event rather than dropping the
    /// future: a JavaScript `AbortSignal`, a C caller's cancel id.
    pub cancel: Option<CancellationToken>,
    /// Wait for a connection up to the deadline instead of failing `UNAVAILABLE` at once
    /// while there is none (`None`: the method's policy, else the client's default).
    pub wait_for_ready: Option<bool>,
    /// Do not inherit the deadline and cancellation of the handler this call is made from.
    pub detach: bool,
    /// The handler context to inherit from, for a binding whose handlers run where the core
    /// cannot see them (an asyncio loop, a goroutine): `ctx.inherited()`. Without it, a call
    /// inherits from the handler running on its thread, if any.
    pub parent: Option<crate::context::Inherited>,
}

impl CallOptions {
    /// Options with a timeout.
    pub fn with_timeout(timeout: Duration) -> CallOptions {
        CallOptions {
            timeout: Some(timeout),
            ..CallOptions::default()
        }
    }
}

/// A connection to a server. Cheap to clone; calls may run concurrently.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    endpoint: String,
    channel: Arc<pool::Pool>,
    config: Option<Arc<ServiceConfig>>,
    throttle: Option<policy::Throttle>,
    wait_for_ready: bool,
    schema: Schema,
    schemaless: HashSet<String>,
    limits: Limits,
    interceptors: Vec<Arc<dyn Interceptor>>,
    decode: DecodeOptions,
    converters: crate::mapping::Converters,
    /// Each method's metrics, and the endpoint's scheme (`unix`, `grpc`…) they are kept under.
    pub(super) metrics: crate::metrics::ByMethod,
    pub(super) scheme: String,
    /// Cancelled by [`Client::close`]: every call in flight and every later one ends with it.
    closed: CancellationToken,
    versions: connect::SchemaCheck, // announced version, methods breaking what was expected
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .finish()
    }
}

impl Client {
    /// The endpoint connected to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The server's schema.
    pub fn schema(&self) -> &Schema {
        &self.inner.schema
    }

    /// Every method the server offers (from its schema), sorted.
    pub fn methods(&self) -> Vec<MethodInfo> {
        self.inner.schema.methods().into_iter().cloned().collect()
    }

    /// Methods the server serves without a schema.
    pub fn schemaless_methods(&self) -> Vec<String> {
        let mut v: Vec<String> = self.inner.schemaless.iter().cloned().collect();
        v.sort();
        v
    }

    /// Closes the client, the same way on every transport: calls and streams in flight and every
    /// later call fail with `Cancelled` (reason `CLIENT_CLOSED`), and the connection is released.
    /// Closing twice is harmless. Clones of a client share its connection, so they close too.
    pub fn close(&self) {
        self.inner.closed.cancel();
        self.inner.channel.close();
    }

    /// The connection's state: `Ready`, `Connecting`, `TransientFailure` (in backoff after a
    /// failed attempt), `Idle` (the connection was lost; the next call reconnects), or
    /// `Shutdown` after [`close`](Client::close).
    pub fn state(&self) -> ConnState {
        if self.is_closed() {
            return ConnState::Shutdown;
        }
        self.inner.channel.state()
    }

    /// The endpoint a call made now would go to, while the client is connected: for
    /// `auto://NAME` the transport it picked (`inproc://NAME`, `shm://NAME`, a `unix://`
    /// socket or a network endpoint), else the endpoint connected to. `None` while no
    /// connection is up (the next call connects, and `auto://` resolves the name again).
    pub fn transport(&self) -> Option<String> {
        if self.is_closed() {
            return None;
        }
        self.inner.channel.connected()
    }

    /// Each endpoint's state and whether it is ejected, in the order given at connect.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        self.inner.channel.statuses()
    }

    /// Whether [`close`](Client::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Calls a unary method with already-encoded protobuf bytes.
    pub async fn call_raw(
        &self,
        method: &str,
        request: Bytes,
        opts: &CallOptions,
    ) -> Result<Bytes> {
        Ok(self
            .call_raw_with_metadata(method, request, opts)
            .await?
            .message)
    }

    /// [`call_raw`](Client::call_raw), returning the response headers and trailers too.
    pub async fn call_raw_with_metadata(
        &self,
        method: &str,
        request: Bytes,
        opts: &CallOptions,
    ) -> Result<Reply<Bytes>> {
        let name = self.raw_method(method, &request)?;
        self.call_bytes(&name, request, opts, Codec::Proto).await
    }

    /// [`call_raw_with_metadata`](Client::call_raw_with_metadata) from synchronous code, as
    /// [`call_blocking`](Client::call_blocking) makes it.
    pub fn call_raw_with_metadata_blocking(
        &self,
        method: &str,
        request: Bytes,
        opts: &CallOptions,
    ) -> Result<Reply<Bytes>> {
        let name = self.raw_method(method, &request)?;
        self.call_bytes_blocking(&name, request, opts, Codec::Proto, &JustWait)
    }

    fn raw_method(&self, method: &str, request: &Bytes) -> Result<String> {
        self.inner.versions.refuse(method)?;
        let info = self.inner.schema.require_method(method)?;
        self.inner.limits.check_message(request.len(), "request")?;
        Ok(info.name.clone())
    }

    /// Calls a unary method with protobuf JSON text (lowerCamelCase or proto names) and
    /// returns canonical protobuf JSON.
    pub async fn call_json(
        &self,
        method: &str,
        request_json: &str,
        opts: &CallOptions,
        emit_defaults: bool,
    ) -> Result<String> {
        self.inner.versions.refuse(method)?;
        let info = self.inner.schema.require_method(method)?.clone();
        let msg =
            json::message_from_json(&info.input(), request_json, self.inner.limits.max_depth)?;
        let reply = self
            .call_raw(&info.name, msg.encode_to_vec().into(), opts)
            .await?;
        let out = crate::codec::decode_proto(&info.output(), &reply)?;
        json::message_to_json(&out, emit_defaults)
    }

    /// Opens a streaming call of any kind (server-, client- or bidi-streaming).
    pub async fn open_stream(&self, method: &str, opts: &CallOptions) -> Result<ClientStream> {
        self.inner.versions.refuse(method)?;
        let info = self.inner.schema.require_method(method)?.clone();
        if info.kind() == StreamingKind::Unary {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!("method {} is unary; use a unary call", info.name),
            ));
        }
        let codec = opts.codec.unwrap_or(Codec::Proto);
        let channel = self.inner.channel.clone();
        let closed = self.inner.closed.clone();
        let wait = self.wait_for_ready(opts, self.policy(&info.name));
        let head = self.head(&info.name, opts, codec);
        let (raw, tracked) = self
            .run_open(head, move |head, meter| {
                Box::pin(async move {
                    let deadline = head.timeout.map(|t| Instant::now() + t);
                    let (i, t) = match channel.ready_now() {
                        Some(p) => p,
                        None => channel.ready(wait, deadline, &closed).await?,
                    };
                    let attempt = meter.only_attempt(0);
                    let result = t.open(head).await;
                    attempt.opened(&result);
                    channel.report(i, &result);
                    result
                })
            })
            .await;
        let raw = match raw {
            Ok(raw) => raw,
            Err(e) => {
                self.end(tracked, Err(&e));
                return Err(e);
            }
        };
        let end = self.stream_end(tracked);
        Ok(ClientStream::new(
            raw,
            codec,
            info,
            self.inner.limits.clone(),
            (self.inner.decode, self.inner.converters.clone()),
            self.inner.closed.clone(),
            opts,
        )
        .ended_by(end))
    }

    /// Calls a server-streaming method: sends `request`, returns the stream of responses.
    pub async fn server_streaming(
        &self,
        method: &str,
        request: &Value,
        opts: &CallOptions,
    ) -> Result<ClientStream> {
        let mut s = self.open_stream(method, opts).await?;
        s.send(request)?;
        s.close_send();
        Ok(s)
    }
}
