//! The schema registry: the service `hms.ffi.v1.Registry` (`core/proto/hms/ffi/v1/registry.proto`),
//! served by an ordinary [`Server`] on any transport and called through any client.
//!
//! A registry keeps **subjects** — one per protobuf package — each a list of immutable
//! **versions** (1, 2, …) of a `FileDescriptorSet`, keyed by a content **fingerprint**
//! ([`Image::fingerprint`](crate::evolution::Image::fingerprint): SHA-256 of the normalized set).
//! Registering content already registered under the subject returns the existing version. A
//! new version must pass the subject's compatibility [`Mode`] under its rule [`Category`]
//! (see [`mode`]), or the caller gets `FailedPrecondition` with reason
//! [`INCOMPATIBLE_SCHEMA`] and the rules broken. Versions are fetched by subject and number or
//! by fingerprint, listed, and deprecated. Storage sits behind [`RegistryStore`]
//! ([`MemoryStore`]; [`NatsKvStore`], a JetStream key-value bucket shared by many registries;
//! the CLI's `hms-ffi registry serve` keeps a SQLite file by default).
//!
//! ```
//! use std::sync::Arc;
//! use hms_ffi_core::evolution::Image;
//! use hms_ffi_core::registry::{self, MemoryStore, RegistryClient};
//! # fn main() -> hms_ffi_core::Result<()> {
//! let server = registry::server(Arc::new(MemoryStore::new()), Default::default())?;
//! server.listen("inproc://registry-doc")?;
//! let rt = hms_ffi_core::runtime::runtime();
//! let client = rt.block_on(RegistryClient::connect("inproc://registry-doc"))?;
//! let v1 = Image::from_sources(&[("shop.proto", "syntax = \"proto3\"; package shop.v1; message Item { string name = 1; }")])?;
//! let reply = rt.block_on(client.register("", v1.to_descriptor_set()))?;
//! assert_eq!((reply.version.as_ref().map(|v| v.version), reply.created), (Some(1), true));
//! // Changing a field's type breaks BACKWARD under WIRE_JSON, the default.
//! let v2 = Image::from_sources(&[("shop.proto", "syntax = \"proto3\"; package shop.v1; message Item { int64 name = 1; }")])?;
//! let err = rt.block_on(client.register("", v2.to_descriptor_set())).unwrap_err();
//! assert_eq!(err.code(), hms_ffi_core::Code::FailedPrecondition);
//! assert_eq!(err.details().error_info.as_ref().unwrap().metadata["rules"], "FIELD_WIRE_JSON_COMPATIBLE_TYPE");
//! # Ok(()) }
//! ```
//!
//! Submodules: `messages` (the `.proto`'s messages as prost types), [`mode`] (modes and how
//! they map onto the check), `store` (the trait and the memory store), `nats_store` and
//! `nats_layout` (the NATS key-value store and its keys), `contract` (the tests every store
//! passes), `service` (the rules and the handlers), `client` (the thin Rust client), `reference` ([`RegistryRef`]: one
//! version named by a string, `registry+URI#SUBJECT@VERSION`, fetched and verified).

mod client;
#[doc(hidden)]
pub mod contract;
pub mod messages;
pub mod mode;
mod nats_layout;
mod nats_store;
mod reference;
mod service;
mod store;

use std::sync::Arc;

use crate::error::Result;
use crate::schema::Schema;
use crate::server::{Server, ServerOptions};

pub use client::RegistryClient;
pub use mode::{Config, Mode, INCOMPATIBLE_SCHEMA};
pub use nats_store::NatsKvStore;
pub use reference::{RegistryRef, Selector, REFERENCE_PREFIX, REGISTRY_CORRUPT};
pub use service::RegistryService;
pub use store::{
    no_version, now_unix_ms, Admit, MemoryStore, NewVersion, RegistryStore, StoredVersion,
};

/// The service's full name.
pub const SERVICE: &str = "hms.ffi.v1.Registry";

/// The file name the registry's `.proto` is compiled under.
pub const PROTO_NAME: &str = "hms/ffi/v1/registry.proto";

/// The text of `hms/ffi/v1/registry.proto`.
pub const PROTO: &str = include_str!("../../proto/hms/ffi/v1/registry.proto");

/// The registry's schema (`hms.ffi.v1.Registry` and its messages).
pub fn registry_schema() -> Result<Schema> {
    Schema::from_sources(&[(PROTO_NAME, PROTO)])
}

/// A server of the registry over `store` (not listening yet: call [`Server::listen`]). The
/// options' security applies as to any service.
pub fn server(store: Arc<dyn RegistryStore>, options: ServerOptions) -> Result<Server> {
    let server = Server::with_options(registry_schema()?, options);
    RegistryService::new(store).install(&server)?;
    Ok(server)
}

#[cfg(test)]
mod tests;
