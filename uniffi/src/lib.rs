//! # hms-ffi-uniffi
//!
//! The UniFFI face of hms-ffi: `#[uniffi::export]` wrappers over `hms-ffi-core` and nothing
//! else, from which UniFFI generates the Kotlin package (`kotlin/`) and the Swift package
//! (`swift/`). `scripts/uniffi-gen.sh` builds this crate and runs its `uniffi-bindgen` binary in
//! library mode over the cdylib; the generated files are committed and checked current.
//!
//! Exported: [`Schema`], [`Server`] with the foreign [`Handler`]/[`RawHandler`]/
//! [`StreamHandler`] traits (called from hms-ffi's threads), [`Client`] with blocking and
//! `async` calls and streams ([`ClientStream`], [`ServerStream`]), [`CallContext`],
//! [`CallOptions`] (with the [`CallParent`] a call made off a handler's thread inherits from),
//! publish/subscribe ([`Bus`], [`BusSubscription`], JetStream's [`DurableSubscription`] of
//! [`Delivery`]), and [`HmsError`] (one variant per gRPC code, with code, message and
//! details).
//!
//! Requests and replies cross as **typed JSON text** ([`ocore::mapping::notation`]: the value
//! notation of the conformance vectors, read with the same native rules as a Python dict) or
//! as **protobuf bytes** (`call_raw`, `handle_raw`) for callers with generated message classes.
//! `docs/uniffi.md` says why.
//!
//! ```
//! use std::sync::Arc;
//! use hms_ffi_uniffi::{CallContext, CallOptions, Client, Handler, HmsError, HmsResult, Schema, Server};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn handle(&self, request: String, _ctx: Arc<CallContext>) -> HmsResult<String> {
//!         Ok(request)
//!     }
//! }
//!
//! let schema = Schema::from_source("echo.proto".into(), r#"
//!     syntax = "proto3"; package demo.v1;
//!     message Ping { string text = 1; int64 n = 2; }
//!     service Echo { rpc Echo(Ping) returns (Ping); }
//! "#.into()).unwrap();
//! let server = Server::new(schema, "rust".into(), None, None, vec![]).unwrap();
//! server.handle("demo.v1.Echo/Echo".into(), Arc::new(Echo)).unwrap();
//! server.listen("inproc://uniffi-doc".into()).unwrap();
//!
//! let client = Client::connect("inproc://uniffi-doc".into()).unwrap();
//! let reply = client.call("demo.v1.Echo/Echo".into(),
//!     r#"{"text": "hi", "n": {"$int": "9007199254740993"}}"#.into(), CallOptions::default()).unwrap();
//! assert_eq!(reply, r#"{"n":{"$int":"9007199254740993"},"text":"hi"}"#);
//!
//! let err = client.call("demo.v1.Echo/Echo".into(), r#"{"n": "seven"}"#.into(),
//!     CallOptions::default()).unwrap_err();
//! let HmsError::InvalidArgument { details, .. } = err else { panic!("{err:?}") };
//! assert_eq!(details.field_violations[0].field, "n");
//! //! ```

// HmsError carries its details inline because UniFFI lifts errors by value; boxing them would
// not cross the boundary.
#![allow(clippy::result_large_err)]

pub use ::hms_ffi_core as ocore;

mod batch;
mod bus;
mod bus_durable;
mod client;
mod context;
mod converters;
mod error;
mod handler;
mod runtime;
mod schema;
mod server;
mod stream;

pub use batch::{BatchCall, BatchResult};
pub use bus::{Bus, BusEvent, BusSubscription};
pub use bus_durable::{Deliver, Delivery, DurableSubscription};
pub use client::{connect_async, CallReply, Client};
pub use context::{
    current_parent, CallContext, CallOptions, CallParent, CancelToken, MetadataEntry,
    PeerCertificate,
};
pub use converters::{converter_error, ConverterTarget, PathSegment};
pub use error::{
    Code, DebugInfo, ErrorDetails, ErrorInfo, FieldViolation, HmsError, HmsResult, Origin,
};
pub use handler::{Handler, RawHandler};
pub use schema::{Schema, SchemaVersion};
pub use server::Server;
pub use stream::{ClientStream, ServerStream, StreamHandler};

uniffi::setup_scaffolding!();
