//! `Bus` and `BusSubscription`: publish/subscribe with typed topics (the core's `bus`), the GIL
//! released while a publish goes out or a subscription waits. Events are walked by the core
//! straight from and into Python objects, through the bus's converters, as a call's request
//! and reply are (`crate::walk`).

use std::time::Duration;

use pyo3::prelude::*;

use crate::converters::{registry, ConverterTuple};
use crate::errors::py_result;
use crate::ocore::mapping::{Converters, DecodeOptions};
use crate::ocore::{self, runtime};
use crate::schema::Schema;
use crate::walk::{PyIn, PyOut};

/// An in-process bus, or one over NATS (`Bus.connect`).
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct Bus {
    inner: ocore::bus::Bus,
    converters: Converters,
}

#[pymethods]
impl Bus {
    /// An in-process bus over `schema`'s message types; `converters` as `connect` takes them.
    #[new]
    #[pyo3(signature = (schema, converters = None))]
    fn new(schema: &Schema, converters: Option<Vec<ConverterTuple>>) -> PyResult<Bus> {
        Ok(Bus {
            inner: ocore::bus::Bus::new(schema.inner.clone()),
            converters: registry(converters)?,
        })
    }

    /// A bus over NATS: `nats://host:port/PREFIX`.
    #[staticmethod]
    #[pyo3(signature = (uri, schema, converters = None))]
    fn connect(
        py: Python<'_>,
        uri: &str,
        schema: &Schema,
        converters: Option<Vec<ConverterTuple>>,
    ) -> PyResult<Bus> {
        let converters = registry(converters)?;
        let schema = schema.inner.clone();
        let r = py.detach(|| runtime::block_on(ocore::bus::Bus::connect(uri, schema)));
        py_result(py, r.and_then(|r| r)).map(|inner| Bus { inner, converters })
    }

    /// Declares the message type of the topics matching `pattern`.
    fn declare(&self, py: Python<'_>, pattern: &str, message_type: &str) -> PyResult<()> {
        py_result(py, self.inner.declare(pattern, message_type))
    }

    /// Publishes `message` (a dict) on `topic`, encoded as the topic's declared type.
    fn publish(&self, py: Python<'_>, topic: &str, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let input = PyIn(message.clone());
        let bytes = self
            .inner
            .encode_input(topic, &input, Some(&self.converters))?;
        let bytes = py_result(py, bytes)?;
        let r = py.detach(|| runtime::block_on(self.inner.publish_encoded(topic, bytes)));
        py_result(py, r.and_then(|r| r))
    }

    /// Subscribes to `pattern`, in the queue group `queue` when given.
    #[pyo3(signature = (pattern, queue = None, pending = None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        pattern: &str,
        queue: Option<&str>,
        pending: Option<usize>,
    ) -> PyResult<BusSubscription> {
        let pending = pending.unwrap_or(ocore::bus::DEFAULT_PENDING);
        let r =
            py.detach(|| runtime::block_on(self.inner.subscribe_pending(pattern, queue, pending)));
        let sub = py_result(py, r.and_then(|r| r))?;
        Ok(BusSubscription {
            inner: ocore::bus::SharedSubscription::new(sub),
            converters: self.converters.clone(),
        })
    }

    /// Subscribes to `pattern` through the JetStream consumer `name` (`None`: an ephemeral
    /// one), on a bus connected with `?jetstream=STREAM`.
    #[pyo3(signature = (pattern, name = None, deliver = None, ack_wait = 30.0, max_deliver = None, batch = 64))]
    #[allow(clippy::too_many_arguments)]
    fn subscribe_durable(
        &self,
        py: Python<'_>,
        pattern: &str,
        name: Option<&str>,
        deliver: Option<&Bound<'_, PyAny>>,
        ack_wait: f64,
        max_deliver: Option<u32>,
        batch: usize,
    ) -> PyResult<crate::bus_durable::DurableSubscription> {
        let options = ocore::bus::DurableOptions {
            deliver: crate::bus_durable::deliver(deliver)?,
            ack_wait: Duration::from_secs_f64(ack_wait.max(0.001)),
            max_deliver,
            batch,
        };
        let r =
            py.detach(|| runtime::block_on(self.inner.subscribe_durable(pattern, name, &options)));
        let sub = py_result(py, r.and_then(|r| r))?;
        let converters = self.converters.clone();
        Ok(crate::bus_durable::DurableSubscription::new(
            sub, converters,
        ))
    }
}

/// A subscription: `next` waits (without the GIL) for the next event; `close` from another
/// thread ends it (the core's `SharedSubscription`).
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct BusSubscription {
    inner: ocore::bus::SharedSubscription,
    converters: Converters,
}

#[pymethods]
impl BusSubscription {
    /// The next event as `(topic, message)`, or `None` when `timeout` seconds pass or the
    /// subscription is closed. An event that fails its type's check raises its typed error.
    #[pyo3(signature = (timeout = None))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(String, Bound<'py, PyAny>)>> {
        let timeout = timeout.map(|t| Duration::from_secs_f64(t.max(0.0)));
        let raw = py.detach(|| self.inner.next_raw_blocking(timeout, None));
        let Some(raw) = py_result(py, raw)? else {
            return Ok(None);
        };
        let options = DecodeOptions::default();
        let out = &mut PyOut(py);
        let message = self
            .inner
            .decode_output(&raw, options, Some(&self.converters), out)?;
        Ok(Some((raw.topic.to_string(), py_result(py, message)?)))
    }

    /// Events dropped because the subscription's queue was full.
    fn dropped(&self) -> u64 {
        self.inner.dropped()
    }

    /// Unsubscribes; a `next` in progress returns `None`.
    fn close(&self) {
        self.inner.close();
    }
}
