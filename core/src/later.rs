//! A reply a binding gives later, from another thread or a callback: a foreign event loop, an
//! asyncio task, a C handler that completes its call when it likes. One rule for all of them:
//! the first answer wins, and a sender dropped unanswered is `Internal` for the caller.
//!
//! ```
//! use hms_ffi_core::later::reply_later;
//! use hms_ffi_core::{Code, Value};
//!
//! # hms_ffi_core::runtime::block_on(async {
//! let (later, reply) = reply_later::<Value>();
//! std::thread::spawn(move || later.send(Ok(Value::from("done"))));
//! assert_eq!(reply.await.unwrap(), Value::from("done"));
//!
//! let (later, reply) = reply_later::<Value>();
//! drop(later); // the handler went away without answering
//! assert_eq!(reply.await.unwrap_err().code(), Code::Internal);
//! # }).unwrap();
//! ```

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// The answering half of [`reply_later`]; `Send + Sync`, answers once.
#[derive(Debug)]
pub struct LaterReply<T> {
    tx: Mutex<Option<oneshot::Sender<Result<T>>>>,
}

impl<T> LaterReply<T> {
    /// Answers the call; false when it was answered already or nobody waits any more. A call
    /// read on a `unix://` connection's thread is finished (its reply encoded and written) on
    /// the thread that answers it.
    pub fn send(&self, result: Result<T>) -> bool {
        let tx = self.tx.lock().ok().and_then(|mut tx| tx.take());
        tx.is_some_and(|tx| crate::eager::handing_over(|| tx.send(result).is_ok()))
    }
}

/// A sender for a reply that comes later and the future that waits for it (what a handler
/// returns). Dropping the sender unanswered ends the future with `Internal` ("the handler
/// finished without a reply").
pub fn reply_later<T: Send + 'static>() -> (LaterReply<T>, impl Future<Output = Result<T>> + Send) {
    let (tx, rx) = oneshot::channel();
    let later = LaterReply {
        tx: Mutex::new(Some(tx)),
    };
    let reply = async move {
        rx.await
            .unwrap_or_else(|_| Err(Error::internal("the handler finished without a reply")))
    };
    (later, reply)
}
