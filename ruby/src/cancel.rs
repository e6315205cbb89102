//! `HmsFfi::CancelToken`: cancels the calls it was passed to (`call(…, cancel: token)`), from
//! any Ruby thread. It wraps the core's `CallOptions::cancel` token: a cancelled call fails with
//! `HmsFfi::Cancelled` and the server's handler sees its context cancelled.

use magnus::{function, method, prelude::*, Error, RModule, Ruby};
use tokio_util::sync::CancellationToken;

/// A cancellation token; one token may cancel several calls.
#[magnus::wrap(class = "HmsFfi::CancelToken", free_immediately, size)]
pub(crate) struct CancelToken {
    pub(crate) inner: CancellationToken,
}

impl CancelToken {
    fn new() -> CancelToken {
        CancelToken {
            inner: CancellationToken::new(),
        }
    }

    /// Cancels every call made with this token, now and later.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// True once #cancel was called.
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("CancelToken", ruby.class_object())?;
    class.define_singleton_method("new", function!(CancelToken::new, 0))?;
    class.define_method("cancel", method!(CancelToken::cancel, 0))?;
    class.define_method("cancelled?", method!(CancelToken::cancelled, 0))?;
    Ok(())
}
