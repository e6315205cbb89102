//! [`CancelToken`]: what an `AbortSignal` pulls to cancel a call in flight.

use napi_derive::napi;
use tokio_util::sync::CancellationToken;

/// A cancellation token; `cancel()` ends the calls it was given to with `CANCELLED`.
#[napi]
#[derive(Debug, Default)]
pub struct CancelToken(pub(crate) CancellationToken);

#[napi]
impl CancelToken {
    /// A fresh token.
    #[napi(constructor)]
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every call given this token (later calls given it fail at once).
    #[napi]
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether `cancel()` was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}
