//! `Server`: Python handlers run on core worker threads holding the GIL; every wait releases it.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::async_handler::AsyncHandler;
use crate::context::Context;
use bytes::Bytes;

use crate::errors::{self, py_result};
use crate::ocore::{self, runtime, Exchange};
use crate::schema::Schema;
use crate::stream::PyStreamHandler;
use crate::walk::{PyIn, PyOut};

/// A server for a schema; the public `hms_ffi.Server` wraps it.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct Server {
    inner: Arc<ocore::Server>,
}

/// A synchronous Python handler, run on the thread that read the call (GIL taken there). The
/// core makes its request `dict` straight from the bytes and walks its reply `dict` into bytes
/// (see `walk.rs`), both with the GIL it holds anyway.
struct SyncHandler {
    handler: Arc<Py<PyAny>>,
}

impl ocore::handler::NativeHandler for SyncHandler {
    fn call(
        &self,
        request: Bytes,
        exchange: Arc<Exchange>,
        ctx: ocore::Context,
    ) -> ocore::handler::BoxFuture<'static, ocore::Result<Bytes>> {
        let handler = self.handler.clone();
        Box::pin(async move {
            ocore::handler::run_inline(|| run_handler(&handler, &request, &exchange, ctx))
        })
    }
}

/// Runs a Python handler for one call (GIL taken here).
fn run_handler(
    handler: &Py<PyAny>,
    request: &[u8],
    exchange: &Exchange,
    ctx: ocore::Context,
) -> ocore::Result<Bytes> {
    crate::threads::keep_thread_state();
    Python::attach(|py| {
        let call = || -> PyResult<ocore::Result<Bytes>> {
            let request = match exchange.request(request, &mut PyOut(py))? {
                Ok(request) => request,
                Err(e) => return Ok(Err(e)),
            };
            let ctx = Bound::new(py, Context::from(ctx))?;
            let reply = handler.bind(py).call1((request, ctx))?;
            exchange.reply(&PyIn(reply))
        };
        call().unwrap_or_else(|e| Err(errors::from_py(py, e)))
    })
}

#[pymethods]
impl Server {
    #[new]
    #[pyo3(signature = (schema, max_message_bytes = None, max_concurrent_per_connection = None, security = None, service_config = None, converters = None))]
    fn new(
        py: Python<'_>,
        schema: &Schema,
        max_message_bytes: Option<usize>,
        max_concurrent_per_connection: Option<usize>,
        security: Option<std::path::PathBuf>,
        service_config: Option<String>,
        converters: Option<Vec<crate::converters::ConverterTuple>>,
    ) -> PyResult<Server> {
        let options = ocore::BindingOptions {
            max_message_bytes,
            max_concurrent_per_connection,
            security,
            service_config,
            converters: crate::converters::registry(converters)?,
            ..Default::default()
        };
        let options = py_result(py, ocore::ServerOptions::for_binding("python", options))?;
        Ok(Server {
            inner: Arc::new(ocore::Server::with_options(schema.inner.clone(), options)),
        })
    }

    /// Registers a synchronous callable `(request: dict, ctx: Context) -> dict` for a unary
    /// method (of the schema revision `revision`, when given).
    #[pyo3(signature = (method, handler, revision = None))]
    fn register(
        &self,
        py: Python<'_>,
        method: &str,
        handler: Py<PyAny>,
        revision: Option<&str>,
    ) -> PyResult<()> {
        let handler = Arc::new(SyncHandler {
            handler: Arc::new(handler),
        });
        py_result(
            py,
            self.inner
                .on_revision(revision)
                .and_then(|s| s.unary_native(method, handler)),
        )
    }

    /// Registers `starter(request, ctx, done) -> cancel` for a unary method: `starter`
    /// schedules the coroutine and later calls `done(ok, reply_or_exception)`.
    #[pyo3(signature = (method, starter, revision = None))]
    fn register_async(
        &self,
        py: Python<'_>,
        method: &str,
        starter: Py<PyAny>,
        revision: Option<&str>,
    ) -> PyResult<()> {
        let handler = Arc::new(AsyncHandler { starter });
        py_result(
            py,
            self.inner
                .on_revision(revision)
                .and_then(|s| s.unary_native(method, handler)),
        )
    }

    /// Registers a streaming method of any kind: `runner(stream, ctx)` runs a plain handler on
    /// a worker thread; with `is_async`, `runner(stream, ctx, done) -> cancel` schedules an
    /// `async def` handler and reports its end through `done(ok, error)`.
    #[pyo3(signature = (method, runner, is_async, revision = None))]
    fn register_stream(
        &self,
        py: Python<'_>,
        method: &str,
        runner: Py<PyAny>,
        is_async: bool,
        revision: Option<&str>,
    ) -> PyResult<()> {
        let handler = Arc::new(PyStreamHandler {
            runner: Arc::new(runner),
            is_async,
        });
        py_result(
            py,
            self.inner
                .on_revision(revision)
                .and_then(|s| s.stream_handler(method, handler)),
        )
    }

    /// Serves `schema` beside the main one as the revision `label`; returns its fingerprint.
    fn add_revision(&self, py: Python<'_>, label: &str, schema: &Schema) -> PyResult<String> {
        py_result(py, self.inner.add_revision(label, schema.inner.clone()))
    }

    /// The revisions served beside the main schema, `[(label, fingerprint)]`.
    #[getter]
    fn revisions(&self) -> Vec<(String, String)> {
        self.inner.revisions()
    }

    /// Serves the main schema's `method` with the handler of `revision` (a WIRE check first).
    fn bridge(&self, py: Python<'_>, revision: &str, method: &str) -> PyResult<()> {
        py_result(py, self.inner.bridge(revision, method))
    }

    /// Starts listening on an endpoint URI; returns it as bound.
    fn listen(&self, py: Python<'_>, uri: &str) -> PyResult<String> {
        let inner = self.inner.clone();
        let r = py.detach(|| inner.listen(uri));
        py_result(py, r)
    }

    /// Starts the admin listener (`http://host:port`: `/metrics`, `/healthz`); returns it as
    /// bound.
    fn admin(&self, py: Python<'_>, uri: &str) -> PyResult<String> {
        let inner = self.inner.clone();
        let r = py.detach(|| inner.admin(uri));
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

    /// The schema version discovery announces, `(fingerprint, subject, version)`.
    #[getter]
    fn schema_version(&self) -> (String, String, u32) {
        let v = self.inner.schema_version();
        (v.fingerprint, v.subject, v.version)
    }

    /// Records the registry subject and version of the schema served (announced in discovery).
    fn set_schema_version(&self, subject: &str, version: u32) {
        self.inner.set_schema_version(subject, version)
    }
}
