//! `Client`: calls release the GIL while they wait; `call_with_callback` backs `call_async`.

use std::collections::HashMap;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::context::Context;
use crate::converters::{registry, ConverterTuple};
use crate::errors::{self, py_result};
use crate::ocore::{self, runtime, CallOptions, CancellationToken, Metadata};
use crate::schema::{method_tuples, MethodTuple, Schema};
use crate::stream::ClientStream;
use crate::walk::{PyIn, PyOut, WithoutGil};

/// A connection to a server; the public `hms_ffi.Client` wraps it.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct Client {
    inner: ocore::Client,
}

/// Connects to one or several endpoint URIs (of one service) and discovers the server's schema,
/// or uses `schema` (needed for servers without hms-ffi discovery, such as a stock gRPC
/// server). `resilience` is the core's options as JSON (`docs/resilience.md`). `expect_schema`
/// is the schema the caller was built against: methods the server's schema breaks are refused
/// (`docs/evolution.md`, "Versions at connect"). `revision` chooses a schema revision the server
/// serves beside its main one (label or fingerprint).
#[pyfunction]
#[pyo3(signature = (uris, schema = None, resilience = None, expect_schema = None, converters = None, revision = None))]
pub(crate) fn connect(
    py: Python<'_>,
    uris: Vec<String>,
    schema: Option<&Schema>,
    resilience: Option<&str>,
    expect_schema: Option<&Schema>,
    converters: Option<Vec<ConverterTuple>>,
    revision: Option<String>,
) -> PyResult<Client> {
    let resilience = match resilience {
        Some(json) => py_result(py, ocore::Resilience::from_json(json))?,
        None => ocore::Resilience::default(),
    };
    let options = ocore::ConnectOptions {
        schema: schema.map(|s| s.inner.clone()),
        resilience,
        expect_schema: expect_schema.map(|s| s.inner.clone()),
        converters: registry(converters)?,
        revision,
        ..Default::default()
    };
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let r = py.detach(|| runtime::block_on(ocore::connect_all(&uris, options)));
    let r = r.and_then(|inner| inner);
    py_result(py, r).map(|inner| Client { inner })
}

fn options(
    timeout: Option<f64>,
    metadata: Option<&Bound<'_, PyDict>>,
    wait_for_ready: Option<bool>,
    parent: Option<&Bound<'_, Context>>,
) -> PyResult<CallOptions> {
    let mut md = Metadata::new();
    if let Some(m) = metadata {
        for (k, v) in m.iter() {
            md.insert(k.extract::<String>()?, v.extract::<String>()?);
        }
    }
    Ok(CallOptions {
        timeout: timeout.map(|t| Duration::from_secs_f64(t.max(0.0))),
        metadata: md,
        wait_for_ready,
        parent: parent.map(|c| c.get().inherited()),
        ..CallOptions::default()
    })
}

impl Client {
    /// A unary call from Python: the core walks `request` and makes the reply's objects with
    /// the GIL held, and gives the GIL up for the call itself.
    fn blocking_call<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        request: &Bound<'py, PyAny>,
        opts: &CallOptions,
    ) -> PyResult<ocore::Reply<Bound<'py, PyAny>>> {
        let request = PyIn(request.clone());
        let r = self.inner.call_native_blocking_in(
            method,
            &request,
            opts,
            &WithoutGil(py),
            &mut PyOut(py),
        )?;
        py_result(py, r)
    }
}

/// A call started by `call_with_callback`.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct CallHandle {
    token: CancellationToken,
}

#[pymethods]
impl CallHandle {
    /// Cancels the call: its callback gets `hms_ffi.Cancelled`, the server's handler sees
    /// `ctx.cancelled`. Cancelling a finished call does nothing.
    fn cancel(&self) {
        self.token.cancel();
    }
}

/// Options with a token of their own, which the returned handle's `cancel()` fires.
fn cancellable(mut opts: CallOptions) -> (CallOptions, CancellationToken) {
    let token = CancellationToken::new();
    opts.cancel = Some(token.clone());
    (opts, token)
}

/// Passes `make`'s `(ok, value)` to `callback`, on a worker thread with the GIL (taking it may
/// wait: never on a reactor thread). What the callback raises is reported as unraisable.
async fn call_back(
    callback: Py<PyAny>,
    make: impl FnOnce(Python<'_>) -> (bool, Py<PyAny>) + Send + 'static,
) {
    let _ = tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            if let Err(e) = callback.call1(py, make(py)) {
                e.write_unraisable(py, None);
            }
        })
    })
    .await;
}

/// One entry of a batch's result list: the reply, or the error as an exception object.
fn batch_item<'py>(
    py: Python<'py>,
    r: PyResult<ocore::Result<Bound<'py, PyAny>>>,
) -> Bound<'py, PyAny> {
    match r {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => errors::to_py(py, e)
            .into_value(py)
            .into_bound(py)
            .into_any(),
        Err(raised) => raised.into_value(py).into_bound(py).into_any(),
    }
}

/// Response metadata as a Python dict.
type Dict = HashMap<String, String>;

#[pymethods]
impl Client {
    /// Calls a unary method; blocks without the GIL; returns the reply as a dict.
    // Python's keyword arguments, one per option: a thin pass-through.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, request, timeout = None, metadata = None, wait_for_ready = None, parent = None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        request: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        metadata: Option<&Bound<'py, PyDict>>,
        wait_for_ready: Option<bool>,
        parent: Option<&Bound<'py, Context>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = options(timeout, metadata, wait_for_ready, parent)?;
        Ok(self.blocking_call(py, method, request, &opts)?.message)
    }

    /// Opens a streaming call of any kind; waits for the connection without the GIL.
    #[pyo3(signature = (method, timeout = None, metadata = None, wait_for_ready = None, parent = None))]
    fn open_stream(
        &self,
        py: Python<'_>,
        method: &str,
        timeout: Option<f64>,
        metadata: Option<&Bound<'_, PyDict>>,
        wait_for_ready: Option<bool>,
        parent: Option<&Bound<'_, Context>>,
    ) -> PyResult<ClientStream> {
        let opts = options(timeout, metadata, wait_for_ready, parent)?;
        let client = &self.inner;
        let opened = py.detach(|| ocore::StreamCall::open_blocking(client, method, &opts));
        Ok(ClientStream(py_result(py, opened)?))
    }

    /// [`call`](Client::call), returning `(reply, headers, trailers)`: the response metadata
    /// as dicts (the first value of each key; `-bin` values are base64).
    // Python's keyword arguments, one per option: a thin pass-through.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, request, timeout = None, metadata = None, wait_for_ready = None, parent = None))]
    fn call_with_metadata<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        request: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        metadata: Option<&Bound<'py, PyDict>>,
        wait_for_ready: Option<bool>,
        parent: Option<&Bound<'py, Context>>,
    ) -> PyResult<(Bound<'py, PyAny>, Dict, Dict)> {
        let opts = options(timeout, metadata, wait_for_ready, parent)?;
        let reply = self.blocking_call(py, method, request, &opts)?;
        Ok((
            reply.message,
            reply.headers.first_values(),
            reply.trailers.first_values(),
        ))
    }

    /// Starts a call and returns at once; `callback(ok, reply_or_exception)` runs later on a
    /// worker thread with the GIL (the Python layer turns it into an asyncio future). The
    /// returned handle's `cancel()` ends the call with `hms_ffi.Cancelled`.
    // Python's keyword arguments, one per option: a thin pass-through.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, request, callback, timeout = None, metadata = None, wait_for_ready = None, parent = None))]
    fn call_with_callback(
        &self,
        method: String,
        request: &Bound<'_, PyAny>,
        callback: Py<PyAny>,
        timeout: Option<f64>,
        metadata: Option<&Bound<'_, PyDict>>,
        wait_for_ready: Option<bool>,
        parent: Option<&Bound<'_, Context>>,
    ) -> PyResult<CallHandle> {
        let (opts, token) = cancellable(options(timeout, metadata, wait_for_ready, parent)?);
        // The request is walked here, with the GIL; the reply on a worker thread that takes it.
        let request = self
            .inner
            .encode_request(&method, &PyIn(request.clone()), &opts)?;
        let client = self.inner.clone();
        runtime::runtime().spawn(async move {
            let result = match request {
                Ok(request) => client.call_encoded(request, &opts).await,
                Err(e) => Err(e),
            };
            call_back(callback, move |py| {
                match result.map(|r| client.decode_reply(r, &mut PyOut(py))) {
                    Ok(Ok(Ok(reply))) => (true, reply.message.unbind()),
                    Ok(Ok(Err(e))) | Err(e) => {
                        (false, errors::to_py(py, e).into_value(py).into_any())
                    }
                    Ok(Err(raised)) => (false, raised.into_value(py).into_any()),
                }
            })
            .await;
        });
        Ok(CallHandle { token })
    }

    /// Calls every `(method, request)` of `calls` as one batch (the core's rules: one deadline,
    /// each item its own outcome; `docs/messaging.md`, "Batched calls"). The requests are walked
    /// and the replies made with the GIL; the calls run without it. One entry per call, in order:
    /// the reply, or its error as an exception object (not raised).
    // Python's keyword arguments, one per option: a thin pass-through.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (calls, timeout = None, metadata = None, wait_for_ready = None, parent = None))]
    fn batch<'py>(
        &self,
        py: Python<'py>,
        calls: Vec<(String, Bound<'py, PyAny>)>,
        timeout: Option<f64>,
        metadata: Option<&Bound<'py, PyDict>>,
        wait_for_ready: Option<bool>,
        parent: Option<&Bound<'py, Context>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let opts = options(timeout, metadata, wait_for_ready, parent)?;
        let calls: Vec<(String, PyIn)> = calls.into_iter().map(|(m, r)| (m, PyIn(r))).collect();
        let items = calls.iter().map(|(m, r)| (m.as_str(), r));
        let results =
            self.inner
                .batch_native_blocking_in(items, &opts, &WithoutGil(py), &mut PyOut(py));
        let results = py_result(py, results)?;
        Ok(results
            .into_iter()
            .map(|r| batch_item(py, r.map(|r| r.map(|reply| reply.message))))
            .collect())
    }

    /// [`batch`](Client::batch) started at once; `callback(True, [entries])` runs later on a
    /// worker thread with the GIL (the Python layer makes it an asyncio future). The handle's
    /// `cancel()` ends every call not finished with `hms_ffi.Cancelled`.
    // Python's keyword arguments, one per option: a thin pass-through.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (calls, callback, timeout = None, metadata = None, wait_for_ready = None, parent = None))]
    fn batch_with_callback(
        &self,
        py: Python<'_>,
        calls: Vec<(String, Bound<'_, PyAny>)>,
        callback: Py<PyAny>,
        timeout: Option<f64>,
        metadata: Option<&Bound<'_, PyDict>>,
        wait_for_ready: Option<bool>,
        parent: Option<&Bound<'_, Context>>,
    ) -> PyResult<CallHandle> {
        let (opts, token) = cancellable(options(timeout, metadata, wait_for_ready, parent)?);
        let calls: Vec<(String, PyIn)> = calls.into_iter().map(|(m, r)| (m, PyIn(r))).collect();
        let items = calls.iter().map(|(m, r)| (m.as_str(), r));
        let requests = py_result(py, self.inner.encode_batch(items, &opts))?;
        let client = self.inner.clone();
        runtime::runtime().spawn(async move {
            let replies = client.batch_encoded(requests, &opts).await;
            call_back(callback, move |py| {
                let entries: Vec<Bound<'_, PyAny>> = replies
                    .into_iter()
                    .map(|r| r.and_then(|r| client.reply_of(r, &mut PyOut(py))))
                    .map(|r| batch_item(py, r.map(|r| r.map(|reply| reply.message))))
                    .collect();
                let list = pyo3::types::PyList::new(py, entries).map(|l| l.into_any().unbind());
                match list {
                    Ok(list) => (true, list),
                    Err(e) => (false, e.into_value(py).into_any()),
                }
            })
            .await;
        });
        Ok(CallHandle { token })
    }

    /// Every method the server offers, as `(name, input type, output type, kind)`.
    fn methods(&self) -> Vec<MethodTuple> {
        method_tuples(self.inner.schema())
    }

    /// The server's schema.
    #[getter]
    fn schema(&self) -> Schema {
        Schema {
            inner: self.inner.schema().clone(),
        }
    }

    /// The schema version the server announced, `(fingerprint, subject, version)`, or `None`.
    #[getter]
    fn schema_version(&self) -> Option<(String, String, u32)> {
        let v = self.inner.schema_version()?;
        Some((v.fingerprint.clone(), v.subject.clone(), v.version))
    }

    /// The schema revision this client speaks (its fingerprint), `None` for the main schema.
    #[getter]
    fn revision(&self) -> Option<&str> {
        self.inner.revision()
    }

    /// The revisions the server announced beside its main schema, `[(label, fingerprint)]`.
    #[getter]
    fn revisions(&self) -> Vec<(String, String)> {
        let v = self.inner.schema_version();
        v.map(|v| v.revisions.clone()).unwrap_or_default()
    }

    /// The methods of `expect_schema` the server's schema breaks, each with its findings.
    fn incompatible_methods(&self) -> HashMap<String, Vec<String>> {
        self.inner.incompatible_method_texts().into_iter().collect()
    }

    /// The endpoint connected to (several: joined by commas).
    #[getter]
    fn endpoint(&self) -> &str {
        self.inner.endpoint()
    }

    /// The connection's state: `idle`, `connecting`, `ready`, `transient_failure`, `shutdown`.
    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state().name()
    }

    /// The endpoint calls go to now, while connected: for `auto://NAME` the transport it
    /// picked (`"inproc://NAME"`, `"shm://NAME"`, a `unix://` socket, a network URI), else the
    /// endpoint itself; `None` while no connection is up.
    #[getter]
    fn transport(&self) -> Option<String> {
        self.inner.transport()
    }

    /// Each endpoint as `(uri, state, ejected)`, in the order given to `connect`.
    fn endpoints(&self) -> Vec<(String, &'static str, bool)> {
        self.inner
            .endpoints()
            .into_iter()
            .map(|e| (e.endpoint, e.state.name(), e.ejected))
            .collect()
    }

    /// Closes the connection.
    fn close(&self) {
        self.inner.close();
    }
}
