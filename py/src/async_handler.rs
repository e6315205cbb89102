//! `async def` handlers without blocking any thread: the coroutine is scheduled on an asyncio
//! loop by a Python `starter`, which reports back through a callback that completes a Rust
//! future. Dropping the future (deadline, cancellation) cancels the coroutine.

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyTuple};

use crate::context::Context;
use crate::convert;
use crate::errors;
use crate::ocore;
use crate::ocore::handler::{BoxFuture, UnaryHandler};
use crate::ocore::later::{reply_later, LaterReply};

/// Runs `starter(request, ctx, done) -> cancel` for each call.
pub(crate) struct AsyncHandler {
    pub(crate) starter: Py<PyAny>,
}

/// Calls `cancel()` if the call ends before the coroutine does.
pub(crate) struct CancelOnDrop(pub(crate) Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(cancel) = self.0.take() {
            Python::attach(|py| {
                if let Err(e) = cancel.call0(py) {
                    e.write_unraisable(py, None);
                }
            });
        }
    }
}

fn done_callback(
    py: Python<'_>,
    later: LaterReply<ocore::Value>,
) -> PyResult<Bound<'_, PyCFunction>> {
    PyCFunction::new_closure(
        py,
        None,
        None,
        move |args: &Bound<'_, PyTuple>, _kwargs| -> PyResult<()> {
            let py = args.py();
            let ok: bool = args.get_item(0)?.extract()?;
            let value = args.get_item(1)?;
            let result = if ok {
                convert::from_py(&value).map_err(|e| errors::from_py(py, e))
            } else {
                Err(errors::from_py(py, PyErr::from_value(value)))
            };
            later.send(result);
            Ok(())
        },
    )
}

impl UnaryHandler for AsyncHandler {
    fn call(
        &self,
        request: ocore::Value,
        ctx: ocore::Context,
    ) -> BoxFuture<'static, ocore::Result<ocore::Value>> {
        let (later, reply) = reply_later();
        let started = Python::attach(|py| -> PyResult<Py<PyAny>> {
            let req = convert::to_py(py, &request)?;
            let ctx = Bound::new(py, Context::from(ctx))?;
            let done = done_callback(py, later)?;
            Ok(self.starter.bind(py).call1((req, ctx, done))?.unbind())
        });
        let started = started.map_err(|e| Python::attach(|py| errors::from_py(py, e)));
        Box::pin(async move {
            let mut guard = CancelOnDrop(Some(started?));
            let result = reply.await;
            guard.0 = None;
            result
        })
    }
}
