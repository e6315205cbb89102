//! Streams: the core's client stream and server stream objects as Python sees them. Every wait
//! (the next message) gives up the GIL; messages are walked to and from dicts by the core's
//! one-pass walk (`walk.rs`). The generator, iterator and `async` idioms are the package's
//! (`hms_ffi/streams.py`); the stream rules (deadlines, cancellation, half-close, limits,
//! errors after the messages sent before them) are the core's.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyTuple};

use crate::context::Context;
use crate::errors::{self, py_result};
use crate::ocore::handler::{run_blocking, BoxFuture, StreamHandler};
use crate::ocore::later::reply_later;
use crate::ocore::{self, RequestStream, ResponseSink, StreamCall};
use crate::walk::{PyIn, PyOut};

/// The client side of a streaming call; `hms_ffi.Stream` wraps it.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct ClientStream(pub(crate) StreamCall);

#[pymethods]
impl ClientStream {
    /// `server_streaming`, `client_streaming` or `bidi_streaming`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind().name()
    }

    /// Sends one request.
    fn send(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = py_result(py, self.0.encode_input(&PyIn(request.clone()))?)?;
        // Sending may wait for the server to read (flow control): without the GIL, which an
        // in-process server needs to read it.
        py_result(py, py.detach(|| self.0.send_encoded(bytes)))
    }

    /// Half-closes: no more requests.
    fn close_send(&self) {
        self.0.close_send();
    }

    /// Cancels the call: the server's handler sees it cancelled; later reads raise
    /// `hms_ffi.Cancelled`.
    fn cancel(&self) {
        self.0.cancel();
    }

    /// The next reply, `None` at the end; waits without the GIL.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let bytes = match py.detach(|| self.0.recv_bytes_blocking()) {
            None => return Ok(None),
            Some(bytes) => py_result(py, bytes)?,
        };
        let reply = self.0.decoder().decode_output(&bytes, &mut PyOut(py))?;
        py_result(py, reply).map(Some)
    }

    /// The one reply of a client-streaming call, read to the end (the core's rule:
    /// `hms_ffi.Internal` when the server sent none or more than one); waits without the GIL.
    fn recv_only<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes = py_result(py, py.detach(|| self.0.recv_only_bytes_blocking()))?;
        py_result(py, self.0.decoder().decode_output(&bytes, &mut PyOut(py))?)
    }

    /// The response headers, once known.
    #[getter]
    fn headers(&self) -> Option<std::collections::HashMap<String, String>> {
        self.0.headers().map(|m| m.first_values())
    }

    /// The response trailers (complete at the end).
    #[getter]
    fn trailers(&self) -> std::collections::HashMap<String, String> {
        self.0.trailers().first_values()
    }
}

/// The server side of one streaming call, handed to the package's runner with the context.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct ServerStream(ocore::ServerStream);

#[pymethods]
impl ServerStream {
    /// The next request, `None` once the client has half-closed (or gone); waits without the GIL.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(bytes) = py.detach(|| self.0.recv_bytes_blocking()) else {
            return Ok(None);
        };
        let bytes = py_result(py, bytes)?;
        py_result(py, self.0.decode(&bytes, &mut PyOut(py))?).map(Some)
    }

    /// The one request of a server-streaming call: `hms_ffi.InvalidArgument` (the core's rule)
    /// when the client sent none; waits without the GIL.
    fn recv_first<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes = py_result(py, py.detach(|| self.0.first_bytes_blocking()))?;
        py_result(py, self.0.decode(&bytes, &mut PyOut(py))?)
    }

    /// Sends one reply; `hms_ffi.Cancelled` once the caller has gone.
    fn send(&self, py: Python<'_>, reply: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = py_result(py, self.0.encode(&PyIn(reply.clone()))?)?;
        // Sending may wait for the caller to read (flow control): without the GIL, which an
        // in-process caller needs to read it.
        py_result(py, py.detach(|| self.0.send_encoded(bytes)))
    }
}

/// A Python streaming handler: the package's `runner(stream, ctx)` run on a blocking thread
/// (plain handlers), or `starter(stream, ctx, done) -> cancel` scheduling a coroutine on an
/// asyncio loop (`async def` handlers), which reports its end through `done(ok, error)`.
pub(crate) struct PyStreamHandler {
    pub(crate) runner: Arc<Py<PyAny>>,
    pub(crate) is_async: bool,
}

impl StreamHandler for PyStreamHandler {
    fn call(
        &self,
        requests: RequestStream,
        sink: ResponseSink,
        ctx: ocore::Context,
    ) -> BoxFuture<'static, ocore::Result<()>> {
        let runner = self.runner.clone();
        let stream = ServerStream(ocore::ServerStream::new(requests, sink));
        if !self.is_async {
            return Box::pin(run_blocking(move || {
                crate::threads::keep_thread_state();
                Python::attach(|py| {
                    let run = || -> PyResult<()> {
                        let ctx = Bound::new(py, Context::from(ctx))?;
                        runner.bind(py).call1((stream, ctx))?;
                        Ok(())
                    };
                    run().map_err(|e| errors::from_py(py, e))
                })
            }));
        }
        let (later, ended) = reply_later::<()>();
        let started = Python::attach(|py| -> PyResult<Py<PyAny>> {
            let ctx = Bound::new(py, Context::from(ctx))?;
            let done = PyCFunction::new_closure(
                py,
                None,
                None,
                move |args: &Bound<'_, PyTuple>, _kwargs| -> PyResult<()> {
                    let py = args.py();
                    let result = match args.get_item(0)?.extract::<bool>()? {
                        true => Ok(()),
                        false => Err(errors::from_py(py, PyErr::from_value(args.get_item(1)?))),
                    };
                    later.send(result);
                    Ok(())
                },
            )?;
            Ok(runner.bind(py).call1((stream, ctx, done))?.unbind())
        });
        let started = started.map_err(|e| Python::attach(|py| errors::from_py(py, e)));
        Box::pin(async move {
            let mut guard = crate::async_handler::CancelOnDrop(Some(started?));
            let result = ended.await;
            guard.0 = None;
            result
        })
    }
}
