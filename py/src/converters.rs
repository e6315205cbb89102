//! Converters for custom domain types (`hms_ffi.Converter`): a pair of Python callables the core
//! calls where its walk meets a converted value (`ocore::mapping::convert`). The core decides
//! where they apply and what a failure means; this file only holds and calls the callables.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::ocore::mapping::{Converters, Native, Target};

/// One converter's callables: `to_message(native) -> message-shaped value` and
/// `from_message(message-shaped value) -> native`.
pub(crate) struct PyConverter {
    to_message: Py<PyAny>,
    from_message: Py<PyAny>,
}

/// One converter as the package hands it over: `("message" | "format", name, to_message,
/// from_message)`.
pub(crate) type ConverterTuple = (String, String, Py<PyAny>, Py<PyAny>);

/// The core's registry of the converters the package hands over, in order (a later one for the
/// same target replaces an earlier one).
pub(crate) fn registry(list: Option<Vec<ConverterTuple>>) -> PyResult<Converters> {
    let mut out = Converters::new();
    for (kind, name, to_message, from_message) in list.unwrap_or_default() {
        let target = match kind.as_str() {
            "message" => Target::Message(name),
            "format" => Target::Format(name),
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "a converter targets a message or a format, not {other:?}"
                )))
            }
        };
        let native: Native = Arc::new(PyConverter {
            to_message,
            from_message,
        });
        out = out.with(target, native);
    }
    Ok(out)
}

/// Calls the converter `native` holds on `obj`, one way or the other; a Python exception
/// becomes the description the core reports at the value's path (`ValueError: bad digits`).
pub(crate) fn call<'py>(
    native: &Native,
    obj: &Bound<'py, PyAny>,
    to_message: bool,
) -> Result<Bound<'py, PyAny>, String> {
    let c = native
        .downcast_ref::<PyConverter>()
        .ok_or("not a Python converter")?;
    let f = if to_message {
        &c.to_message
    } else {
        &c.from_message
    };
    let py = obj.py();
    f.bind(py).call1((obj,)).map_err(|e| {
        let name = e
            .get_type(py)
            .name()
            .map_or_else(|_| "Exception".to_string(), |n| n.to_string());
        format!("{name}: {}", e.value(py))
    })
}
