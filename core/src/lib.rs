//! # hms-ffi-core
//!
//! The Rust core of hms-ffi: call functions written in any language through an interface
//! described once in Protocol Buffers, in one process (`inproc://`), between processes on one
//! machine (`unix://`), and later over the network. Every rule lives here — schema loading,
//! value mapping and validation, codecs, errors, interceptors, limits, transports — so that
//! each language binding only converts values and runs callbacks on the right thread.
//!
//! ```
//! use hms_ffi_core::{connect_blocking, CallOptions, Schema, Server, Value};
//! # fn main() -> hms_ffi_core::Result<()> {
//! let schema = Schema::from_source("echo.proto", r#"
//!     syntax = "proto3"; package demo.v1;
//!     message Ping { string text = 1; int64 n = 2; }
//!     service Echo { rpc Echo(Ping) returns (Ping); }
//! "#)?;
//! let server = Server::new(schema);
//! server.unary("demo.v1.Echo/Echo", |req, _ctx| async move { Ok(req) })?;
//! server.listen("inproc://lib-doc")?;
//!
//! let client = connect_blocking("inproc://lib-doc")?;   // schema discovered from the server
//! let req = Value::message([("text", Value::from("hi")), ("n", Value::from(7))]);
//! let reply = client.call_blocking("demo.v1.Echo/Echo", &req, &CallOptions::default())?;
//! assert_eq!(reply.get("n"), Some(&Value::Int(7)));
//!
//! // A wrong type is InvalidArgument with the field's path.
//! let bad = Value::message([("n", Value::from("seven"))]);
//! let err = client.call_blocking("demo.v1.Echo/Echo", &bad, &CallOptions::default()).unwrap_err();
//! assert_eq!(err.code(), hms_ffi_core::Code::InvalidArgument);
//! assert_eq!(err.field_violations()[0].field, "n");
//! # Ok(()) }
//! ```
//!
//! Modules: [`schema`] (runtime `.proto`), [`evolution`] (breaking-change checks that agree
//! with `buf breaking`), [`value`] and [`mapping`] (native values ⇄
//! messages), [`codec`], [`error`], [`metadata`], [`peer`], [`call`] (call head, discovery),
//! [`server`], [`client`], [`registry`] (the schema registry service), [`context`], [`interceptor`], [`transport`] (with the local wire
//! protocol in [`transport::frame`]), [`security`] (authentication, authorization, audit, rate
//! limits), [`trace`] (W3C trace context, spans, OTLP export) and [`metrics`] (call metrics,
//! Prometheus text; `docs/observability.md`). `docs/architecture.md` gives their layers.

// The modules by layer, bottom to top; a module uses only its own layer and those below
// (docs/architecture.md, checked by scripts/check_layers.py in `make lint`).
// base
pub mod code;
mod eager;
pub mod error;
pub mod flow;
pub mod foreign;
pub mod limits;
pub mod metadata;
pub mod metrics;
pub mod peer;
pub mod runtime;
mod status;
pub mod trace;
pub mod value;
// schema, mapping, codec
pub mod cbor;
pub mod codec;
pub mod evolution;
pub mod mapping;
pub mod schema;
pub mod topic;
// call
pub mod call;
pub mod context;
pub mod exchange;
pub mod handler;
pub mod interceptor;
pub mod later;
pub mod streaming;
// transports
pub mod transport;
// security
pub mod security;
// server, client
pub mod bus;
pub mod client;
pub mod registry;
pub mod server;

pub use metadata::response;

pub use call::{Blocker, JustWait};
pub use client::{
    connect, connect_all, connect_blocking, connect_with, Backoff, CallOptions, Client,
    ClientStream, ConnState, ConnectOptions, EncodedItem, EncodedReply, EncodedRequest, Resilience,
    ResponseDecoder, ServiceConfig, StreamCall, StreamSender, BATCH_IN_FLIGHT, MAX_BATCH,
};
pub use code::Code;
pub use codec::Codec;
pub use context::Context;
pub use error::{DebugInfo, Details, Error, ErrorInfo, FieldViolation, Origin, Result};
pub use exchange::{Exchange, NativeResult};
pub use foreign::{ErrorParts, ForeignError};
pub use handler::{RequestStream, ResponseSink};
pub use interceptor::Interceptor;
pub use limits::Limits;
pub use metadata::{Metadata, Reply};
pub use peer::{PeerCertificate, PeerCredentials};
pub use schema::{MethodInfo, MethodRow, Schema, StreamingKind};
pub use security::{Policy, Security};
pub use server::{BindingOptions, CallQueue, Next, PendingCall, Server, ServerOptions};
pub use streaming::ServerStream;
/// The token that cancels a call ([`CallOptions::cancel`]), re-exported for bindings.
pub use tokio_util::sync::CancellationToken;
pub use transport::Keepalive;
pub use value::{Duration, Timestamp, Value};
