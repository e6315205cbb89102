//! `DurableSubscription` and `Delivery`: JetStream's durable consumers for a bus connected with
//! `?jetstream=STREAM` (the core's `bus::subscribe_durable`). The GIL is released while a
//! subscription waits and while an acknowledgement goes to the server and back. A delivery's
//! message is made through the bus's converters, as an ordinary event's is.

use std::time::{Duration, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::py_result;
use crate::ocore::mapping::{Converters, DecodeOptions};
use crate::ocore::{self, runtime};
use crate::walk::PyOut;

/// Where a new consumer starts: "all", "new", "last", a stream sequence (int) or a time
/// (anything with `.timestamp()`, such as an aware `datetime`).
pub(crate) fn deliver(value: Option<&Bound<'_, PyAny>>) -> PyResult<ocore::bus::Deliver> {
    use ocore::bus::Deliver;
    let Some(value) = value else {
        return Ok(Deliver::All);
    };
    if let Ok(s) = value.cast::<PyString>() {
        return py_result(value.py(), s.to_cow()?.parse());
    }
    if let Ok(seq) = value.extract::<u64>() {
        return Ok(Deliver::FromSequence(seq));
    }
    let seconds: f64 = value.call_method0("timestamp")?.extract()?;
    let at = Duration::try_from_secs_f64(seconds)
        .map_err(|e| PyValueError::new_err(format!("deliver: a time before 1970: {e}")))?;
    Ok(Deliver::FromTime(UNIX_EPOCH + at))
}

/// A durable subscription: `next` waits (without the GIL) for the next delivery; `close` from
/// another thread ends it (the core's `SharedDurableSubscription`).
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct DurableSubscription {
    inner: ocore::bus::SharedDurableSubscription,
    converters: Converters,
}

impl DurableSubscription {
    pub(crate) fn new(
        sub: ocore::bus::DurableSubscription,
        converters: Converters,
    ) -> DurableSubscription {
        DurableSubscription {
            inner: ocore::bus::SharedDurableSubscription::new(sub),
            converters,
        }
    }
}

#[pymethods]
impl DurableSubscription {
    /// The next `Delivery`, or `None` when `timeout` seconds pass or the subscription is
    /// closed. An event that fails its type's check raises its typed error (it is terminated:
    /// never delivered again); one a converter refuses raises `InvalidArgument` with the
    /// field's path and, unanswered, comes again after `ack_wait`.
    #[pyo3(signature = (timeout = None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Delivery>> {
        use ocore::bus::Next;
        let timeout = timeout.map(|t| Duration::from_secs_f64(t.max(0.0)));
        let r = py.detach(|| self.inner.next_blocking(timeout, None));
        let d = match py_result(py, r)? {
            Next::Event(d) => py_result(py, d)?,
            Next::TimedOut | Next::Closed => return Ok(None),
        };
        let options = DecodeOptions::default();
        let message = d.decode_output(options, Some(&self.converters), &mut PyOut(py))?;
        Ok(Some(Delivery {
            topic: d.event.topic.to_string(),
            message: py_result(py, message)?.unbind(),
            sequence: d.sequence,
            delivered: d.delivered,
            inner: d,
        }))
    }

    /// Stops reading; events not acknowledged come again to the consumer's other readers.
    fn close(&self) {
        self.inner.close();
    }
}

/// One delivery of an event: acknowledge it with `ack()` once handled.
#[pyclass(module = "hms_ffi._native", frozen)]
pub(crate) struct Delivery {
    #[pyo3(get)]
    topic: String,
    #[pyo3(get)]
    message: Py<PyAny>,
    #[pyo3(get)]
    sequence: u64,
    #[pyo3(get)]
    delivered: u32,
    inner: ocore::bus::Delivery,
}

impl Delivery {
    /// Sends `answer` without the GIL; returns once the server confirmed it.
    fn answer(&self, py: Python<'_>, answer: ocore::bus::Answer) -> PyResult<()> {
        let r = py.detach(|| runtime::block_on(self.inner.answer(answer)));
        py_result(py, r.and_then(|r| r))
    }
}

#[pymethods]
impl Delivery {
    /// Done: never delivered again (returns once the server has recorded it).
    fn ack(&self, py: Python<'_>) -> PyResult<()> {
        self.answer(py, ocore::bus::Answer::Ack)
    }

    /// Not done: delivered again, after `delay` seconds when given.
    #[pyo3(signature = (delay = None))]
    fn nak(&self, py: Python<'_>, delay: Option<f64>) -> PyResult<()> {
        let delay = delay.map(|s| Duration::from_secs_f64(s.max(0.0)));
        self.answer(py, ocore::bus::Answer::Nak(delay))
    }

    /// Never delivered again, though it was not handled.
    fn term(&self, py: Python<'_>) -> PyResult<()> {
        self.answer(py, ocore::bus::Answer::Term)
    }

    /// Still working on it: its `ack_wait` starts again.
    fn in_progress(&self, py: Python<'_>) -> PyResult<()> {
        self.answer(py, ocore::bus::Answer::InProgress)
    }

    fn __repr__(&self) -> String {
        format!(
            "Delivery(topic={:?}, sequence={}, delivered={})",
            self.topic, self.sequence, self.delivered
        )
    }
}
