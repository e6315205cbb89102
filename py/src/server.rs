//! `Server`: Python handlers run on core worker threads holding the GIL; every wait releases it.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::async_handler::AsyncHandler;
use crate::context::Context;
use crate::convert;
use crate::errors::{self, py_result};
use crate::ocore::{self, runtime};
use crate::schema::Schema;

/// A server for a schema; the public `hms_ffi.Server` wraps it.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct Server {
    inner: Arc<ocore::Server>,
}

/// Runs a Python handler for one call, on the thread that read it (GIL taken here).
fn run_handler(
    handler: &Py<PyAny>,
    value: ocore::Value,
    ctx: ocore::Context,
) -> ocore::Result<ocore::Value> {
    crate::threads::keep_thread_state();
    Python::attach(|py| {
        let call = || -> PyResult<ocore::Value> {
            let request = convert::to_py(py, &value)?;
            let ctx = Bound::new(py, Context::from(ctx))?;
            let reply = handler.bind(py).call1((request, ctx))?;
            convert::from_py(&reply)
        };
        call().map_err(|e| errors::from_py(py, e))
    })
}

#[pymethods]
impl Server {
    #[new]
    #[pyo3(signature = (schema, max_message_bytes = None, max_concurrent_per_connection = None, security = None))]
    fn new(
        py: Python<'_>,
        schema: &Schema,
        max_message_bytes: Option<usize>,
        max_concurrent_per_connection: Option<usize>,
        security: Option<std::path::PathBuf>,
    ) -> PyResult<Server> {
        let options = ocore::BindingOptions {
            max_message_bytes,
            max_concurrent_per_connection,
            security,
            ..Default::default()
        };
        let options = py_result(py, ocore::ServerOptions::for_binding("python", options))?;
        Ok(Server {
            inner: Arc::new(ocore::Server::with_options(schema.inner.clone(), options)),
        })
    }

    /// Registers a synchronous callable `(request: dict, ctx: Context) -> dict` for a unary method.
    fn register(&self, py: Python<'_>, method: &str, handler: Py<PyAny>) -> PyResult<()> {
        let r = self
            .inner
            .unary_inline(method, move |value, ctx| run_handler(&handler, value, ctx));
        py_result(py, r)
    }

    /// Registers `starter(request, ctx, done) -> cancel` for a unary method: `starter`
    /// schedules the coroutine and later calls `done(ok, reply_or_exception)`.
    fn register_async(&self, py: Python<'_>, method: &str, starter: Py<PyAny>) -> PyResult<()> {
        let r = self
            .inner
            .unary_handler(method, Arc::new(AsyncHandler { starter }));
        py_result(py, r)
    }

    /// Starts listening on an endpoint URI; returns it as bound.
    fn listen(&self, py: Python<'_>, uri: &str) -> PyResult<String> {
        let inner = self.inner.clone();
        let r = py.detach(|| inner.listen(uri));
        py_result(py, r)
    }

    /// Graceful stop: in-flight calls get up to `grace` seconds.
    #[pyo3(signature = (grace = 5.0))]
    fn shutdown(&self, py: Python<'_>, grace: f64) -> PyResult<()> {
        let inner = self.inner.clone();
        let r = py.detach(|| inner.shutdown_blocking(Duration::from_secs_f64(grace.max(0.0))));
        py_result(py, r)
    }

    /// Waits up to `timeout` seconds for the server to stop, without the GIL; True once stopped.
    fn wait(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let inner = self.inner.clone();
        let r = py.detach(|| {
            runtime::block_on(async {
                tokio::time::timeout(Duration::from_secs_f64(timeout.max(0.0)), inner.stopped())
                    .await
                    .is_ok()
            })
        });
        py_result(py, r)
    }

    /// The endpoints listened on.
    #[getter]
    fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// Calls in flight.
    #[getter]
    fn inflight(&self) -> usize {
        self.inner.inflight()
    }

    /// True once stopped.
    #[getter]
    fn stopped(&self) -> bool {
        self.inner.is_stopped()
    }
}
