//! `hms_ffi._native`: the private PyO3 module under the `hms_ffi` Python package.
//!
//! It only converts values, maps errors and manages the GIL; every rule lives in
//! `hms-ffi-core` (DESIGN.md §2). The public API is the pure-Python package `hms_ffi`.

pub use ::hms_ffi_core as ocore;

mod async_handler;
mod bus;
mod bus_durable;
mod client;
mod context;
mod convert;
mod converters;
mod errors;
mod schema;
mod server;
mod stream;
mod threads;
mod walk;

use pyo3::prelude::*;

/// Registers the exception classes defined in `hms_ffi/errors.py`, by code number.
#[pyfunction]
fn _register_errors(py: Python<'_>, classes: Bound<'_, pyo3::types::PyDict>) -> PyResult<()> {
    errors::register(py, classes)
}

/// Registers `hms_ffi.Timestamp` and `hms_ffi.Duration` (nanosecond-keeping subclasses).
#[pyfunction]
fn _register_types(py: Python<'_>, timestamp: Py<PyAny>, duration: Py<PyAny>) -> PyResult<()> {
    convert::register_types(py, timestamp, duration)
}

/// Sends the spans still queued for OTLP export, waiting up to `timeout` seconds (the package
/// calls it at exit; nothing to do when export is off).
#[pyfunction]
#[pyo3(signature = (timeout = 5.0))]
fn flush_traces(py: Python<'_>, timeout: f64) {
    let timeout = std::time::Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
    py.detach(|| ocore::trace::flush(timeout));
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<schema::Schema>()?;
    m.add_class::<bus::Bus>()?;
    m.add_class::<bus::BusSubscription>()?;
    m.add_class::<bus_durable::DurableSubscription>()?;
    m.add_class::<bus_durable::Delivery>()?;
    m.add_class::<server::Server>()?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::CallHandle>()?;
    m.add_class::<context::Context>()?;
    m.add_class::<stream::ClientStream>()?;
    m.add_class::<stream::ServerStream>()?;
    m.add_function(wrap_pyfunction!(client::connect, m)?)?;
    m.add_function(wrap_pyfunction!(_register_errors, m)?)?;
    m.add_function(wrap_pyfunction!(flush_traces, m)?)?;
    m.add_function(wrap_pyfunction!(_register_types, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
