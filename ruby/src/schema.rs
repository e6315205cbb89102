//! `HmsFfi::Schema`: `.proto` files compiled at runtime, or a `FileDescriptorSet`.

use std::path::PathBuf;

use magnus::{function, method, prelude::*, Error, RModule, RString, Ruby};

use crate::errors::rb_result;
use crate::gvl::without_gvl;
use crate::ocore::{self, MethodRow};

/// Every method of `schema` as `[name, input type, output type, streaming kind]`.
pub(crate) fn method_rows(schema: &ocore::Schema) -> Vec<MethodRow> {
    schema
        .methods()
        .into_iter()
        .map(ocore::MethodInfo::row)
        .collect()
}

/// Compiled protobuf files and their services.
#[magnus::wrap(class = "HmsFfi::Schema", free_immediately, size)]
pub(crate) struct Schema {
    pub(crate) inner: ocore::Schema,
}

impl Schema {
    /// `Schema._load(paths, includes)`: compiles `.proto` files (without the GVL); imports are
    /// looked up in `includes`, the files' folders and the well-known types.
    fn load(ruby: &Ruby, paths: Vec<String>, includes: Vec<String>) -> Result<Schema, Error> {
        let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
        let includes: Vec<PathBuf> = includes.into_iter().map(PathBuf::from).collect();
        loop {
            let r = without_gvl(|| ocore::Schema::load(&paths, &includes), &|| {});
            match r {
                Some(r) => return rb_result(ruby, r).map(|inner| Schema { inner }),
                None => ruby.thread_check_ints()?,
            }
        }
    }

    /// `Schema._from_registry(reference, timeout)`: one version of a schema in a registry,
    /// fetched (without the GVL) and checked against its fingerprint.
    fn from_registry(ruby: &Ruby, reference: String, timeout: f64) -> Result<Schema, Error> {
        let timeout = std::time::Duration::from_secs_f64(timeout.max(0.0));
        loop {
            let fetch = || ocore::registry::RegistryRef::schema_blocking(&reference, timeout);
            match without_gvl(fetch, &|| {}) {
                Some(r) => return rb_result(ruby, r).map(|inner| Schema { inner }),
                None => ruby.thread_check_ints()?,
            }
        }
    }

    /// `Schema.from_source(name, text)`: compiles one `.proto` file given as text.
    fn from_source(ruby: &Ruby, name: String, text: String) -> Result<Schema, Error> {
        rb_result(ruby, ocore::Schema::from_source(&name, &text)).map(|inner| Schema { inner })
    }

    /// `Schema.from_descriptor_set(bytes)`: a serialized `google.protobuf.FileDescriptorSet`.
    fn from_descriptor_set(ruby: &Ruby, data: RString) -> Result<Schema, Error> {
        // SAFETY: the bytes are read before any Ruby code runs.
        #[allow(unsafe_code)]
        let bytes = unsafe { data.as_slice() }.to_vec();
        rb_result(ruby, ocore::Schema::from_descriptor_set(&bytes)).map(|inner| Schema { inner })
    }

    /// The schema as a serialized `FileDescriptorSet` (a binary String).
    fn to_descriptor_set(ruby: &Ruby, rb_self: &Schema) -> RString {
        ruby.str_from_slice(&rb_self.inner.to_descriptor_set())
    }

    /// Every method as `[name, input type, output type, kind]`.
    fn methods(&self) -> Vec<MethodRow> {
        method_rows(&self.inner)
    }

    /// Every service name.
    fn services(&self) -> Vec<String> {
        self.inner.services()
    }

    fn inspect(&self) -> String {
        format!("#<HmsFfi::Schema services={:?}>", self.inner.services())
    }
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Schema", ruby.class_object())?;
    class.define_singleton_method("_load", function!(Schema::load, 2))?;
    class.define_singleton_method("from_source", function!(Schema::from_source, 2))?;
    class.define_singleton_method("_from_registry", function!(Schema::from_registry, 2))?;
    class.define_singleton_method(
        "from_descriptor_set",
        function!(Schema::from_descriptor_set, 1),
    )?;
    class.define_method("to_descriptor_set", method!(Schema::to_descriptor_set, 0))?;
    class.define_method("methods", method!(Schema::methods, 0))?;
    class.define_method("services", method!(Schema::services, 0))?;
    class.define_method("inspect", method!(Schema::inspect, 0))?;
    Ok(())
}
