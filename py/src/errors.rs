//! Errors both ways: a core error becomes the `hms_ffi` exception subclass of its code, with the
//! core's details map as a dict; a Python exception raised in a handler becomes a core error by
//! the core's rules (`Error::from_foreign`): this file only reads the exception.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::ocore::{Error, ErrorParts, ForeignError};

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

pub(crate) fn register(py: Python<'_>, classes: Bound<'_, PyDict>) -> PyResult<()> {
    CLASSES
        .set(py, classes.unbind())
        .map_err(|_| PyRuntimeError::new_err("hms_ffi error classes are already registered"))
}

/// The Python exception for a core error: `hms_ffi.NotFound(message, details)`, …
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let classes = CLASSES
            .get(py)
            .ok_or_else(|| PyRuntimeError::new_err("hms_ffi error classes not registered"))?
            .bind(py);
        let cls = classes.get_item(e.code().as_i32())?.ok_or_else(|| {
            PyRuntimeError::new_err(format!("no exception class for {}", e.code()))
        })?;
        let details = crate::convert::to_py(py, &e.details_value())?;
        let exc = cls.call1((e.message(), details))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// Shorthand for mapping a core result into Python.
pub(crate) fn py_result<T>(py: Python<'_>, r: crate::ocore::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py(py, e))
}

/// A core error from an exception raised by a Python handler; the core applies every rule
/// (see `hms_ffi_core::foreign`).
pub(crate) fn from_py(py: Python<'_>, err: PyErr) -> Error {
    let value = err.value(py);
    let type_name = err
        .get_type(py)
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_string());
    let message = value.str().map(|s| s.to_string()).unwrap_or_default();
    let stack = py
        .import("traceback")
        .and_then(|tb| {
            tb.call_method1(
                "format_exception",
                (err.get_type(py), value, err.traceback(py)),
            )
        })
        .and_then(|lines| lines.extract::<Vec<String>>())
        .unwrap_or_default();
    // An hms_ffi.Error carries its code, message and details (`_wire_parts` in errors.py).
    let parts = value
        .call_method0("_wire_parts")
        .and_then(|p| p.extract::<(i32, String, Bound<'_, PyAny>)>())
        .ok()
        .map(|(code, message, details)| {
            let details = crate::convert::from_py(&details).unwrap_or_default();
            ErrorParts::from_details_value(code, message, &details)
        });
    Error::from_foreign(ForeignError {
        type_name,
        message,
        stack,
        parts,
    })
}
