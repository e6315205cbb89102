//! `HmsFfi\Schema`: `.proto` files compiled at runtime, or a `FileDescriptorSet`.

use std::path::PathBuf;

use ext_php_rs::binary::Binary;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::errors::{bad_option, php_result, to_php};
use crate::ocore;

/// Compiled protobuf files and their services.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Schema")]
pub struct Schema {
    pub(crate) inner: ocore::Schema,
}

/// A method as `['name' =>, 'input' =>, 'output' =>, 'kind' =>]`.
pub(crate) type MethodRow = Vec<(&'static str, String)>;

/// Every method of a schema as [`MethodRow`]s.
pub(crate) fn method_list(schema: &ocore::Schema) -> Vec<MethodRow> {
    schema
        .methods()
        .into_iter()
        .map(|m| {
            let (name, input, output, kind) = m.row();
            vec![
                ("name", name),
                ("input", input),
                ("output", output),
                ("kind", kind.to_string()),
            ]
        })
        .collect()
}

/// What a server announces about its schema in discovery, as `['fingerprint' => 'sha256:…',
/// 'subject' => …, 'version' => …]` (`docs/evolution.md`).
pub(crate) fn version_array(v: &ocore::call::SchemaVersion) -> PhpResult<ZBox<ZendHashTable>> {
    let mut a = ZendHashTable::new();
    let filled = a
        .insert("fingerprint", v.fingerprint.as_str())
        .and_then(|()| a.insert("subject", v.subject.as_str()))
        .and_then(|()| a.insert("version", i64::from(v.version)));
    filled.map(|()| a).map_err(|e| {
        let what = format!("the schema version could not become a PHP array: {e}");
        to_php(ocore::Error::new(ocore::Code::Internal, what))
    })
}

#[php_impl]
impl Schema {
    /// Compiles `.proto` files (one path or a list of paths); imports are looked up in
    /// `$includes`, the files' folders and the well-known types.
    ///
    /// @param string|list<string> $paths
    /// @param list<string> $includes
    pub fn load(paths: &Zval, includes: Option<Vec<String>>) -> PhpResult<Schema> {
        let paths: Vec<PathBuf> = match (paths.str(), paths.extract::<Vec<String>>()) {
            (Some(one), _) => vec![PathBuf::from(one)],
            (None, Some(many)) => many.into_iter().map(PathBuf::from).collect(),
            (None, None) => {
                return Err(bad_option(
                    "Schema::load() takes a path or a list of paths".into(),
                ))
            }
        };
        let includes: Vec<PathBuf> = includes
            .unwrap_or_default()
            .into_iter()
            .map(PathBuf::from)
            .collect();
        php_result(ocore::Schema::load(&paths, &includes)).map(|inner| Schema { inner })
    }

    /// Compiles one `.proto` file given as text (`$name` is its file name for imports and errors).
    pub fn from_source(name: &str, text: &str) -> PhpResult<Schema> {
        php_result(ocore::Schema::from_source(name, text)).map(|inner| Schema { inner })
    }

    /// One version of a schema in a registry: `registry+URI#SUBJECT[@N|@latest|@sha256:HEX]`
    /// (docs/evolution.md), fetched and checked against its fingerprint, waiting at most
    /// `$timeout` seconds (10 by default). Throws `InvalidArgumentException` for a bad
    /// reference, `NotFoundException`, or `UnavailableException`.
    pub fn from_registry(reference: &str, timeout: Option<f64>) -> PhpResult<Schema> {
        let timeout = std::time::Duration::from_secs_f64(timeout.unwrap_or(10.0).max(0.0));
        let r = ocore::registry::RegistryRef::schema_blocking(reference, timeout);
        php_result(r).map(|inner| Schema { inner })
    }

    /// Loads a serialized `google.protobuf.FileDescriptorSet`.
    pub fn from_descriptor_set(data: Binary<u8>) -> PhpResult<Schema> {
        let bytes: Vec<u8> = data.into();
        php_result(ocore::Schema::from_descriptor_set(&bytes)).map(|inner| Schema { inner })
    }

    /// The schema as a serialized `FileDescriptorSet`.
    pub fn to_descriptor_set(&self) -> Binary<u8> {
        Binary::from(self.inner.to_descriptor_set())
    }

    /// Every method: list of `['name' =>, 'input' =>, 'output' =>, 'kind' =>]`.
    ///
    /// @return list<array{name: string, input: string, output: string, kind: string}>
    pub fn methods(&self) -> Vec<MethodRow> {
        method_list(&self.inner)
    }

    /// Every service name.
    ///
    /// @return list<string>
    pub fn services(&self) -> Vec<String> {
        self.inner.services()
    }
}
