//! Runs core futures on the core's runtime for the `async` exports: UniFFI polls the returned
//! future from the foreign executor, and dropping it (a cancelled coroutine or task) aborts the
//! call.

use std::future::Future;

use crate::error::HmsResult;
use crate::ocore;

/// Spawns `fut` on the core's runtime and waits for it; dropping the wait aborts it.
pub(crate) async fn on_runtime<T, F>(fut: F) -> HmsResult<T>
where
    T: Send + 'static,
    F: Future<Output = ocore::Result<T>> + Send + 'static,
{
    Ok(ocore::runtime::spawn_and_wait(fut).await?)
}
