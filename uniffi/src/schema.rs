//! [`Schema`]: `.proto` files compiled at run time.

use std::sync::Arc;

use crate::error::HmsResult;
use crate::ocore;

/// What a server announces about its schema in discovery (`docs/evolution.md`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SchemaVersion {
    /// `sha256:…` of the whole schema, as the schema registry computes it.
    pub fingerprint: String,
    /// The registry subject, empty when unknown.
    pub subject: String,
    /// The registry version, 0 when unknown.
    pub version: u32,
}

impl From<&ocore::call::SchemaVersion> for SchemaVersion {
    fn from(v: &ocore::call::SchemaVersion) -> SchemaVersion {
        SchemaVersion {
            fingerprint: v.fingerprint.clone(),
            subject: v.subject.clone(),
            version: v.version,
        }
    }
}

/// A set of `.proto` files compiled at run time (no `protoc`), or a `FileDescriptorSet`.
#[derive(Debug, uniffi::Object)]
pub struct Schema(pub(crate) ocore::Schema);

#[uniffi::export]
impl Schema {
    /// Compiles `.proto` files, resolving imports in `includes` (and the files' folders).
    #[uniffi::constructor]
    pub fn load(files: Vec<String>, includes: Vec<String>) -> HmsResult<Arc<Schema>> {
        Ok(Arc::new(Schema(ocore::Schema::load(&files, &includes)?)))
    }

    /// Compiles one `.proto` file given as text, named `name`.
    #[uniffi::constructor]
    pub fn from_source(name: String, text: String) -> HmsResult<Arc<Schema>> {
        Ok(Arc::new(Schema(ocore::Schema::from_source(&name, &text)?)))
    }

    /// One version of a schema in a registry: `registry+URI#SUBJECT[@N|@latest|@sha256:HEX]`
    /// (docs/evolution.md), fetched and checked against its fingerprint, waiting at most
    /// `timeout_ms` (10 s when `None`). Blocks the calling thread.
    #[uniffi::constructor(default(timeout_ms = None))]
    pub fn from_registry(reference: String, timeout_ms: Option<u64>) -> HmsResult<Arc<Schema>> {
        let timeout = std::time::Duration::from_millis(timeout_ms.unwrap_or(10_000));
        let schema = ocore::registry::RegistryRef::schema_blocking(&reference, timeout)?;
        Ok(Arc::new(Schema(schema)))
    }

    /// A schema from a serialized `google.protobuf.FileDescriptorSet`.
    #[uniffi::constructor]
    pub fn from_descriptor_set(bytes: Vec<u8>) -> HmsResult<Arc<Schema>> {
        Ok(Arc::new(Schema(ocore::Schema::from_descriptor_set(
            &bytes,
        )?)))
    }

    /// The unary and streaming methods, `package.Service/Method`.
    pub fn method_names(&self) -> Vec<String> {
        self.0.method_names()
    }

    /// The fully qualified service names.
    pub fn services(&self) -> Vec<String> {
        self.0.services()
    }

    /// The schema as a serialized `FileDescriptorSet`.
    pub fn to_descriptor_set(&self) -> Vec<u8> {
        self.0.to_descriptor_set()
    }
}
