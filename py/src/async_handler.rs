//! `async def` handlers without blocking any thread: the coroutine is scheduled on an asyncio
//! loop by a Python `starter`, which reports back through a callback that completes a Rust
//! future. Dropping the future (deadline, cancellation) cancels the coroutine. The request
//! `dict` is made from the bytes and the reply walked into bytes by the core's one-pass walks
//! (`walk.rs`), as for a synchronous handler.

use std::sync::Arc;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyTuple};

use crate::context::Context;
use crate::errors;
use crate::ocore;
use crate::ocore::handler::{BoxFuture, NativeHandler};
use crate::ocore::later::{reply_later, LaterReply};
use crate::ocore::Exchange;
use crate::walk::{PyIn, PyOut};

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

/// `done(ok, reply_or_exception)`: walks the reply `dict` into bytes with the route's exchange
/// (with the GIL the callback holds) and completes the call.
fn done_callback(
    py: Python<'_>,
    later: LaterReply<Bytes>,
    exchange: Arc<Exchange>,
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
                exchange
                    .reply(&PyIn(value))
                    .unwrap_or_else(|e| Err(errors::from_py(py, e)))
            } else {
                Err(errors::from_py(py, PyErr::from_value(value)))
            };
            later.send(result);
            Ok(())
        },
    )
}

impl NativeHandler for AsyncHandler {
    fn call(
        &self,
        request: Bytes,
        exchange: Arc<Exchange>,
        ctx: ocore::Context,
    ) -> BoxFuture<'static, ocore::Result<Bytes>> {
        let (later, reply) = reply_later();
        // The request `dict` is made straight from the bytes with the GIL taken here.
        let started = Python::attach(|py| {
            let start = || -> PyResult<ocore::Result<Py<PyAny>>> {
                let req = match exchange.request(&request, &mut PyOut(py))? {
                    Ok(req) => req,
                    Err(e) => return Ok(Err(e)),
                };
                let ctx = Bound::new(py, Context::from(ctx))?;
                let done = done_callback(py, later, exchange.clone())?;
                Ok(Ok(self.starter.bind(py).call1((req, ctx, done))?.unbind()))
            };
            start().unwrap_or_else(|e| Err(errors::from_py(py, e)))
        });
        Box::pin(async move {
            let mut guard = CancelOnDrop(Some(started?));
            let result = reply.await;
            guard.0 = None;
            result
        })
    }
}
