//! `Schema`: `.proto` files compiled at runtime, or a `FileDescriptorSet`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::py_result;
use crate::ocore;

/// A method as `(name, input type, output type, streaming kind)`.
pub(crate) type MethodTuple = ocore::MethodRow;

pub(crate) fn method_tuples(schema: &ocore::Schema) -> Vec<MethodTuple> {
    schema
        .methods()
        .into_iter()
        .map(ocore::MethodInfo::row)
        .collect()
}

/// Compiled protobuf files and their services.
#[pyclass(module = "hms_ffi._native", frozen)]
#[derive(Clone)]
pub(crate) struct Schema {
    pub(crate) inner: ocore::Schema,
}

#[pymethods]
impl Schema {
    /// Compiles `.proto` files (a path or a list of paths); imports are looked up in `includes`,
    /// the files' folders and the well-known types.
    #[staticmethod]
    #[pyo3(signature = (paths, includes = None))]
    fn load(
        py: Python<'_>,
        paths: &Bound<'_, PyAny>,
        includes: Option<Vec<PathBuf>>,
    ) -> PyResult<Schema> {
        let paths: Vec<PathBuf> = match paths.extract::<PathBuf>() {
            Ok(one) => vec![one],
            Err(_) => paths.extract()?,
        };
        let includes = includes.unwrap_or_default();
        let r = py.detach(|| ocore::Schema::load(&paths, &includes));
        py_result(py, r).map(|inner| Schema { inner })
    }

    /// Compiles one `.proto` file given as text.
    #[staticmethod]
    fn from_source(py: Python<'_>, name: &str, text: &str) -> PyResult<Schema> {
        py_result(py, ocore::Schema::from_source(name, text)).map(|inner| Schema { inner })
    }

    /// Loads a serialized `google.protobuf.FileDescriptorSet`.
    #[staticmethod]
    fn from_descriptor_set(py: Python<'_>, data: &[u8]) -> PyResult<Schema> {
        py_result(py, ocore::Schema::from_descriptor_set(data)).map(|inner| Schema { inner })
    }

    /// One version of a schema in a registry: `registry+URI#SUBJECT[@N|@latest|@sha256:HEX]`
    /// (docs/evolution.md), fetched and checked against its fingerprint (the GIL released).
    #[staticmethod]
    #[pyo3(signature = (reference, timeout = 10.0))]
    fn from_registry(py: Python<'_>, reference: &str, timeout: f64) -> PyResult<Schema> {
        let timeout = std::time::Duration::from_secs_f64(timeout.max(0.0));
        let r = py.detach(|| ocore::registry::RegistryRef::schema_blocking(reference, timeout));
        py_result(py, r).map(|inner| Schema { inner })
    }

    /// The schema as a serialized `FileDescriptorSet`.
    fn to_descriptor_set<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_descriptor_set())
    }

    /// Every method as `(name, input type, output type, kind)`.
    fn methods(&self) -> Vec<MethodTuple> {
        method_tuples(&self.inner)
    }

    /// Every service name.
    fn services(&self) -> Vec<String> {
        self.inner.services()
    }

    fn __repr__(&self) -> String {
        format!("Schema(services={:?})", self.inner.services())
    }
}
