//! `HmsFfi\PendingCall`: a call started by `Client::start()` that runs on the core's runtime
//! while the PHP thread goes on. PHP has one thread, so this is how a PHP caller has several
//! calls in flight, polls them, or cancels one: `isDone()` never blocks, `wait()` blocks (running
//! this thread's servers' handlers meanwhile, as a blocking call does), `cancel()` ends the call
//! with `CancelledException` through the core's cancellation token.

use std::cell::RefCell;
use std::sync::mpsc;

use ext_php_rs::convert::IntoZval;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use tokio_util::sync::CancellationToken;

use crate::convert;
use crate::converters::Convs;
use crate::errors::php_result;
use crate::ocore::{self, runtime, CallOptions, Code, Reply, Value};
use crate::pump;

type Outcome = ocore::Result<Reply<Value>>;

/// A call in flight.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\PendingCall")]
pub struct PendingCall {
    rx: RefCell<Option<mpsc::Receiver<Outcome>>>,
    outcome: RefCell<Option<Outcome>>,
    cancel: CancellationToken,
    convs: Convs,
}

fn lost() -> ocore::Error {
    ocore::Error::new(Code::Internal, "the call ended without an answer")
}

/// `['reply' => …, 'headers' => …, 'trailers' => …]` for a reply with its response metadata.
pub(crate) fn with_metadata(reply: &Reply<Value>, convs: &Convs) -> PhpResult<Zval> {
    let mut out = ZendHashTable::new();
    out.insert("reply", convert::received(&reply.message, convs)?)?;
    out.insert("headers", reply.headers.first_values())?;
    out.insert("trailers", reply.trailers.first_values())?;
    out.into_zval(false)
        .map_err(|e| PhpException::from_message(e.to_string()))
}

impl PendingCall {
    /// Starts `method` on the core's runtime, cancellable through this call's token.
    pub(crate) fn start(
        client: ocore::Client,
        method: String,
        request: Value,
        mut opts: CallOptions,
        convs: Convs,
    ) -> PendingCall {
        let cancel = CancellationToken::new();
        opts.cancel = Some(cancel.clone());
        let (tx, rx) = mpsc::channel();
        runtime::runtime().spawn(async move {
            let _ = tx.send(client.call_with_metadata(&method, &request, &opts).await);
        });
        PendingCall {
            rx: RefCell::new(Some(rx)),
            outcome: RefCell::new(None),
            cancel,
            convs,
        }
    }

    /// The outcome, waiting for it first when `block`; `None` while the call runs.
    fn outcome(&self, block: bool) -> Option<Outcome> {
        if self.outcome.borrow().is_none() {
            let rx = self.rx.borrow_mut().take()?;
            let got = if block {
                Some(pump::wait(rx).unwrap_or_else(|| Err(lost())))
            } else {
                match rx.try_recv() {
                    Ok(v) => Some(v),
                    Err(mpsc::TryRecvError::Disconnected) => Some(Err(lost())),
                    Err(mpsc::TryRecvError::Empty) => {
                        *self.rx.borrow_mut() = Some(rx);
                        None
                    }
                }
            };
            *self.outcome.borrow_mut() = got;
        }
        self.outcome.borrow().clone()
    }
}

#[php_impl]
impl PendingCall {
    /// True once the call has ended (with a reply or an error). Never blocks, and runs no
    /// handler: a call to a server of this same process goes on only while this thread waits
    /// (`wait()`, a blocking call or `serve()`).
    pub fn is_done(&self) -> bool {
        self.outcome(false).is_some()
    }

    /// Waits for the reply and returns it, or throws the call's `HmsFfi\…Exception`.
    ///
    /// @return array<string, mixed>
    pub fn wait(&self) -> PhpResult<Zval> {
        let reply = php_result(self.outcome(true).unwrap_or_else(|| Err(lost())))?;
        convert::received(&reply.message, &self.convs)
    }

    /// `wait()`, returning `['reply' => …, 'headers' => …, 'trailers' => …]`.
    ///
    /// @return array{reply: array<string, mixed>, headers: array<string, string>, trailers: array<string, string>}
    pub fn wait_with_metadata(&self) -> PhpResult<Zval> {
        let reply = php_result(self.outcome(true).unwrap_or_else(|| Err(lost())))?;
        with_metadata(&reply, &self.convs)
    }

    /// Cancels the call: it ends with `CancelledException` (unless it had already ended), and
    /// the server's handler sees its context cancelled.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}
