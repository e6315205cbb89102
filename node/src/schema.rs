//! [`Schema`]: `.proto` files compiled at runtime.

use hms_ffi_core as core;
use napi_derive::napi;

use crate::error::js;

/// One method of a schema.
#[napi(object)]
#[derive(Debug)]
pub struct MethodDescription {
    /// `package.Service/Method`.
    pub name: String,
    /// `unary`, `server_streaming`, `client_streaming` or `bidi_streaming`.
    pub kind: String,
    /// The request message's full name.
    pub input: String,
    /// The reply message's full name.
    pub output: String,
}

/// What a server announces about its schema in discovery (`docs/evolution.md`).
#[napi(object)]
#[derive(Debug)]
pub struct SchemaVersion {
    /// `sha256:…` of the whole schema, as the schema registry computes it.
    pub fingerprint: String,
    /// The registry subject, empty when unknown.
    pub subject: String,
    /// The registry version, 0 when unknown.
    pub version: u32,
}

impl From<&core::call::SchemaVersion> for SchemaVersion {
    fn from(v: &core::call::SchemaVersion) -> Self {
        SchemaVersion {
            fingerprint: v.fingerprint.clone(),
            subject: v.subject.clone(),
            version: v.version,
        }
    }
}

/// A compiled set of `.proto` files.
#[napi]
#[derive(Debug)]
pub struct Schema {
    pub(crate) inner: core::Schema,
}

#[napi]
impl Schema {
    /// Compiles a `.proto` file (and its imports, searched in `includes` and the file's folder).
    #[napi(factory)]
    pub fn load(path: String, includes: Option<Vec<String>>) -> napi::Result<Schema> {
        let includes = includes.unwrap_or_default();
        js(core::Schema::load(&[path], &includes)).map(|inner| Schema { inner })
    }

    /// Compiles `.proto` source text given under a file name.
    #[napi(factory)]
    pub fn from_source(name: String, text: String) -> napi::Result<Schema> {
        js(core::Schema::from_source(&name, &text)).map(|inner| Schema { inner })
    }

    /// One version of a schema in a registry, `registry+URI#SUBJECT[@N|@latest|@sha256:HEX]`,
    /// fetched and checked against its fingerprint on the core's runtime: a Promise.
    #[napi(ts_return_type = "Promise<Schema>")]
    pub fn from_registry<'env>(
        env: &'env napi::Env,
        reference: String,
        timeout_ms: Option<u32>,
    ) -> napi::Result<napi::bindgen_prelude::Object<'env>> {
        let timeout = std::time::Duration::from_millis(u64::from(timeout_ms.unwrap_or(10_000)));
        crate::bus::promise(env, async move {
            let r: core::registry::RegistryRef = reference.parse()?;
            let inner = r.schema(timeout).await?;
            Ok(Schema { inner })
        })
    }

    /// Every method, sorted by name.
    #[napi]
    pub fn methods(&self) -> Vec<MethodDescription> {
        describe(&self.inner)
    }
}

pub(crate) fn describe(schema: &core::Schema) -> Vec<MethodDescription> {
    schema
        .methods()
        .into_iter()
        .map(|m| MethodDescription {
            name: m.name.clone(),
            kind: m.kind().name().to_string(),
            input: m.input().full_name().to_string(),
            output: m.output().full_name().to_string(),
        })
        .collect()
}
