//! Runs core futures on the core's runtime for the `async` exports: UniFFI polls the returned
//! future from the foreign executor, and dropping it (a cancelled coroutine or task) aborts the
//! call.

use std::future::Future;

use crate::error::HmsResult;
use crate::ocore::{self, Code};

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Spawns `fut` on the core's runtime and waits for it; dropping the wait aborts it.
pub(crate) async fn on_runtime<T, F>(fut: F) -> HmsResult<T>
where
    T: Send + 'static,
    F: Future<Output = ocore::Result<T>> + Send + 'static,
{
    let mut task = AbortOnDrop(ocore::runtime::handle().spawn(fut));
    match (&mut task.0).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(ocore::Error::new(Code::Internal, format!("call task failed: {e}")).into()),
    }
}
