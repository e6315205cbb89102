//! Errors both ways: a core error becomes the `hms_ffi` exception subclass of its code; a
//! Python exception raised in a handler becomes a core error (its own code if it is an
//! `hms_ffi.Error`, else `Internal` with the type, message and traceback in `DebugInfo`).

use std::collections::BTreeMap;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::ocore::{Code, DebugInfo, Details, Error, FieldViolation, Origin};

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

pub(crate) fn register(py: Python<'_>, classes: Bound<'_, PyDict>) -> PyResult<()> {
    CLASSES
        .set(py, classes.unbind())
        .map_err(|_| PyRuntimeError::new_err("hms_ffi error classes are already registered"))
}

fn details_dict<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let d_ = e.details();
    let violations = PyList::empty(py);
    for v in &d_.field_violations {
        let item = PyDict::new(py);
        item.set_item("field", &v.field)?;
        item.set_item("description", &v.description)?;
        violations.append(item)?;
    }
    d.set_item("field_violations", violations)?;
    match &d_.error_info {
        Some(info) => {
            let i = PyDict::new(py);
            i.set_item("reason", &info.reason)?;
            i.set_item("domain", &info.domain)?;
            i.set_item("metadata", info.metadata.clone())?;
            d.set_item("error_info", i)?;
        }
        None => d.set_item("error_info", py.None())?,
    }
    match &d_.debug_info {
        Some(debug) => {
            let i = PyDict::new(py);
            i.set_item("stack_entries", debug.stack_entries.clone())?;
            i.set_item("detail", &debug.detail)?;
            d.set_item("debug_info", i)?;
        }
        None => d.set_item("debug_info", py.None())?,
    }
    match e.origin() {
        Some(o) => {
            let i = PyDict::new(py);
            i.set_item("language", &o.language)?;
            i.set_item("service", &o.service)?;
            i.set_item("method", &o.method)?;
            d.set_item("origin", i)?;
        }
        None => d.set_item("origin", py.None())?,
    }
    Ok(d)
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
        let exc = cls.call1((e.message(), details_dict(py, &e)?))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// Shorthand for mapping a core result into Python.
pub(crate) fn py_result<T>(py: Python<'_>, r: crate::ocore::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py(py, e))
}

fn text_list(obj: Option<Bound<'_, PyAny>>) -> Vec<String> {
    obj.and_then(|o| o.extract::<Vec<String>>().ok())
        .unwrap_or_default()
}

/// A core error from an exception raised by a Python handler.
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
        .map(|lines| text_list(Some(lines)))
        .unwrap_or_default();
    // An hms_ffi.Error carries its own code, message and field violations.
    let code: Option<i32> = value.getattr("code").ok().and_then(|c| c.extract().ok());
    let is_hms = value.hasattr("_hms_ffi_error").unwrap_or(false);
    let mut details = Details {
        debug_info: Some(DebugInfo {
            stack_entries: stack,
            detail: format!("{type_name}: {message}"),
        }),
        ..Details::default()
    };
    if is_hms {
        if let Some(code) = code {
            let msg: String = value
                .getattr("message")
                .and_then(|m| m.extract())
                .unwrap_or(message);
            if let Ok(violations) = value.getattr("field_violations") {
                if let Ok(items) = violations.extract::<Vec<(String, String)>>() {
                    details.field_violations = items
                        .into_iter()
                        .map(|(field, description)| FieldViolation { field, description })
                        .collect();
                }
            }
            let mut e = Error::new(Code::from_i32(code), msg).with_details(details);
            // Its ErrorInfo keeps domain and metadata, and a re-raised error its origin.
            let info = value
                .getattr("details")
                .and_then(|d| d.get_item("error_info"))
                .ok();
            let part = |key: &str| info.as_ref().and_then(|i| i.get_item(key).ok());
            if let Ok(reason) = value.getattr("reason").and_then(|r| r.extract::<String>()) {
                if !reason.is_empty() {
                    let domain: String = part("domain")
                        .and_then(|d| d.extract().ok())
                        .unwrap_or_default();
                    let metadata: BTreeMap<String, String> = part("metadata")
                        .and_then(|m| m.extract().ok())
                        .unwrap_or_default();
                    e = e.with_error_info(&reason, &domain, metadata);
                }
            }
            if let Ok(o) = value
                .getattr("origin")
                .and_then(|o| o.extract::<BTreeMap<String, String>>())
            {
                let field = |k: &str| o.get(k).cloned().unwrap_or_default();
                e = e.with_origin(Origin {
                    language: field("language"),
                    service: field("service"),
                    method: field("method"),
                });
            }
            return e;
        }
    }
    Error::new(Code::Internal, format!("{type_name}: {message}")).with_details(details)
}
