//! `async def` handlers without blocking any thread: the coroutine is scheduled on an asyncio
//! loop by a Python `starter`, which reports back through a callback that completes a Rust
//! future. Dropping the future (deadline, cancellation) cancels the coroutine.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyTuple};
use tokio::sync::oneshot;

use crate::context::Context;
use crate::convert;
use crate::errors;
use crate::ocore::handler::{BoxFuture, UnaryHandler};
use crate::ocore::{self, Code, Error};

/// Runs `starter(request, ctx, done) -> cancel` for each call.
pub(crate) struct AsyncHandler {
    pub(crate) starter: Py<PyAny>,
}

/// Calls `cancel()` if the call ends before the coroutine does.
struct CancelOnDrop(Option<Py<PyAny>>);

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

type Reply = oneshot::Sender<ocore::Result<ocore::Value>>;

fn done_callback(py: Python<'_>, tx: Reply) -> PyResult<Bound<'_, PyCFunction>> {
    let tx = Mutex::new(Some(tx));
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
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(result);
            }
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
        let (tx, rx) = oneshot::channel();
        let started = Python::attach(|py| -> PyResult<Py<PyAny>> {
            let req = convert::to_py(py, &request)?;
            let ctx = Bound::new(py, Context::from(ctx))?;
            let done = done_callback(py, tx)?;
            Ok(self.starter.bind(py).call1((req, ctx, done))?.unbind())
        });
        let started = started.map_err(|e| Python::attach(|py| errors::from_py(py, e)));
        Box::pin(async move {
            let mut guard = CancelOnDrop(Some(started?));
            let result = rx.await.unwrap_or_else(|_| {
                Err(Error::new(
                    Code::Internal,
                    "async handler finished without a result",
                ))
            });
            guard.0 = None;
            result
        })
    }
}
