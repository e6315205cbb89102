//! The foreign handler traits: Kotlin and Swift implement them, Rust calls them from its own
//! threads (any thread, one call at a time per request, possibly many at once).

use std::sync::Arc;

use crate::context::CallContext;
use crate::error::HmsResult;

/// A unary method over typed JSON text (`docs/uniffi.md`): the request arrives as typed JSON,
/// the reply is returned as typed JSON. Throw an [`crate::HmsError`] to fail with its code; any
/// other exception reaches the caller as `Internal`.
#[uniffi::export(with_foreign)]
pub trait Handler: Send + Sync {
    /// Handles one call. It runs on a thread of the blocking pool and may block.
    fn handle(&self, request: String, ctx: Arc<CallContext>) -> HmsResult<String>;
}

/// A unary method over protobuf bytes, for callers with generated message classes.
#[uniffi::export(with_foreign)]
pub trait RawHandler: Send + Sync {
    /// Handles one call: the request and the reply are the method's messages, serialized.
    fn handle(&self, request: Vec<u8>, ctx: Arc<CallContext>) -> HmsResult<Vec<u8>>;
}
