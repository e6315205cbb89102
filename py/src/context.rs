//! `Context`: what a handler sees besides the request.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::py_result;
use crate::ocore;

/// The context of one call: method, deadline, metadata, caller, trace id, cancellation.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct Context {
    inner: ocore::Context,
}

impl Context {
    /// What calls made for this handler inherit (its deadline and cancellation).
    pub(crate) fn inherited(&self) -> ocore::context::Inherited {
        self.inner.inherited()
    }
}

impl From<ocore::Context> for Context {
    fn from(inner: ocore::Context) -> Self {
        Context { inner }
    }
}

#[pymethods]
impl Context {
    /// The method called, `package.Service/Method`.
    #[getter]
    fn method(&self) -> &str {
        self.inner.method()
    }
    /// The caller's metadata as a dict (the first value of each key; `-bin` values are base64).
    #[getter]
    fn metadata(&self) -> std::collections::HashMap<String, String> {
        self.inner.metadata().first_values()
    }
    /// The authenticated caller, if an interceptor set one.
    #[getter]
    fn identity(&self) -> Option<&str> {
        self.inner.identity()
    }
    /// The kernel's credentials of a unix peer as `(uid, gid, pid)`; `None` on other transports.
    #[getter]
    fn peer_credentials(&self) -> Option<(u32, u32, Option<i32>)> {
        self.inner.peer_credentials().map(|c| (c.uid, c.gid, c.pid))
    }
    /// The client certificate of a mutual-TLS caller as a dict (`identity`, `subject`, `der`
    /// bytes); `None` without one.
    #[getter]
    fn peer_certificate<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(cert) = self.inner.peer_certificate() else {
            return Ok(None);
        };
        let out = PyDict::new(py);
        out.set_item("identity", &cert.identity)?;
        out.set_item("subject", &cert.subject)?;
        out.set_item("der", PyBytes::new(py, &cert.der))?;
        Ok(Some(out))
    }

    /// The peer as the transport sees it.
    #[getter]
    fn peer(&self) -> &str {
        self.inner.peer()
    }
    /// `inproc` or `unix`.
    #[getter]
    fn transport(&self) -> &str {
        self.inner.transport()
    }
    /// The trace id of the call.
    #[getter]
    fn trace_id(&self) -> &str {
        self.inner.trace_id()
    }
    /// The deadline as seconds since the epoch, or None.
    #[getter]
    fn deadline(&self) -> Option<f64> {
        let left = self.inner.time_remaining()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Some((now + left).as_secs_f64())
    }
    /// Seconds left before the deadline (0 once passed), or None.
    #[getter]
    fn time_remaining(&self) -> Option<f64> {
        self.inner.time_remaining().map(|d| d.as_secs_f64())
    }
    /// True once the caller cancelled, went away, or the deadline passed.
    #[getter]
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
    /// Adds a response header (gRPC initial metadata); `bytes` for a `-bin` key. Raises
    /// `FailedPrecondition` once a streaming handler's first response has gone out.
    fn set_header(&self, py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let c = &self.inner;
        set(
            py,
            value,
            |t| c.set_header(key, t),
            |b| c.set_header_bin(key, b),
        )
    }
    /// Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`): a
    /// streaming caller sees them before the first one. Later `set_header` calls raise
    /// `FailedPrecondition`; a second call does nothing.
    fn send_headers(&self) {
        self.inner.send_headers();
    }
    /// Adds a response trailer (gRPC trailing metadata); `bytes` for a `-bin` key.
    fn set_trailer(&self, py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let c = &self.inner;
        set(
            py,
            value,
            |t| c.set_trailer(key, t),
            |b| c.set_trailer_bin(key, b),
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Context(method={:?}, peer={:?}, trace_id={:?})",
            self.inner.method(),
            self.inner.peer(),
            self.inner.trace_id()
        )
    }
}

/// Calls `text` for a `str` value, `bin` for `bytes`.
fn set(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    text: impl FnOnce(String) -> ocore::Result<()>,
    bin: impl FnOnce(&[u8]) -> ocore::Result<()>,
) -> PyResult<()> {
    let r = match value.cast::<pyo3::types::PyBytes>() {
        Ok(b) => bin(b.as_bytes()),
        Err(_) => text(value.extract::<String>()?),
    };
    py_result(py, r)
}
