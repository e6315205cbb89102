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

use crate::converters::Convs;
use crate::errors::{self, php_result};
use crate::ocore::{self, runtime, CallOptions, Code, EncodedReply, EncodedRequest, Reply};
use crate::pump;
use crate::walk::PhpOut;

/// What the call's task sends back: the reply still bytes, made PHP values on this thread.
type Outcome = ocore::Result<EncodedReply>;

/// A call in flight.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\PendingCall")]
pub struct PendingCall {
    rx: RefCell<Option<mpsc::Receiver<Outcome>>>,
    outcome: RefCell<Option<Outcome>>,
    /// The reply as PHP values (or the call's error), made at the first `wait()`.
    made: RefCell<Option<ocore::Result<Reply<Zval>>>>,
    cancel: CancellationToken,
    client: ocore::Client,
    convs: Convs,
}

fn lost() -> ocore::Error {
    ocore::Error::new(Code::Internal, "the call ended without an answer")
}

/// `['reply' => …, 'headers' => …, 'trailers' => …]` for a reply with its response metadata.
pub(crate) fn with_metadata(reply: Reply<Zval>) -> PhpResult<Zval> {
    let mut out = ZendHashTable::new();
    out.insert("reply", reply.message)?;
    out.insert("headers", reply.headers.first_values())?;
    out.insert("trailers", reply.trailers.first_values())?;
    out.into_zval(false)
        .map_err(|e| PhpException::from_message(e.to_string()))
}

impl PendingCall {
    /// Starts the call of a walked request on the core's runtime, cancellable through this
    /// call's token; a request the core refused is the call's outcome.
    pub(crate) fn start(
        client: ocore::Client,
        request: ocore::Result<EncodedRequest>,
        mut opts: CallOptions,
        convs: Convs,
    ) -> PendingCall {
        let cancel = CancellationToken::new();
        opts.cancel = Some(cancel.clone());
        let (tx, rx) = mpsc::channel();
        let c = client.clone();
        runtime::runtime().spawn(async move {
            let outcome = match request {
                Ok(encoded) => c.call_encoded(encoded, &opts).await,
                Err(e) => Err(e),
            };
            let _ = tx.send(outcome);
        });
        PendingCall {
            rx: RefCell::new(Some(rx)),
            outcome: RefCell::new(None),
            made: RefCell::new(None),
            cancel,
            client,
            convs,
        }
    }

    /// Whether the outcome has arrived, waiting for it first when `block`.
    fn arrived(&self, block: bool) -> bool {
        if self.outcome.borrow().is_none() && self.made.borrow().is_none() {
            let Some(rx) = self.rx.borrow_mut().take() else {
                return false;
            };
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
        self.outcome.borrow().is_some() || self.made.borrow().is_some()
    }

    /// The reply as PHP values, waiting for it; made from its bytes once (walk.rs), then the
    /// same values again.
    fn reply(&self) -> PhpResult<Reply<Zval>> {
        self.arrived(true);
        if let Some(outcome) = self.outcome.borrow_mut().take() {
            let mut out = PhpOut::new(&self.convs);
            let made = match outcome {
                Ok(reply) => self.client.decode_reply(reply, &mut out),
                Err(e) => Ok(Err(e)),
            };
            *self.made.borrow_mut() = Some(made.map_err(|f| f.into_native(errors::to_php))?);
        }
        let made = self.made.borrow();
        let made = match made.as_ref() {
            Some(Ok(r)) => Ok(Reply {
                message: r.message.shallow_clone(),
                headers: r.headers.clone(),
                trailers: r.trailers.clone(),
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err(lost()),
        };
        php_result(made)
    }
}

#[php_impl]
impl PendingCall {
    /// True once the call has ended (with a reply or an error). Never blocks, and runs no
    /// handler: a call to a server of this same process goes on only while this thread waits
    /// (`wait()`, a blocking call or `serve()`).
    pub fn is_done(&self) -> bool {
        self.arrived(false)
    }

    /// Waits for the reply and returns it, or throws the call's `HmsFfi\…Exception`.
    ///
    /// @return array<string, mixed>
    pub fn wait(&self) -> PhpResult<Zval> {
        Ok(self.reply()?.message)
    }

    /// `wait()`, returning `['reply' => …, 'headers' => …, 'trailers' => …]`.
    ///
    /// @return array{reply: array<string, mixed>, headers: array<string, string>, trailers: array<string, string>}
    pub fn wait_with_metadata(&self) -> PhpResult<Zval> {
        with_metadata(self.reply()?)
    }

    /// Cancels the call: it ends with `CancelledException` (unless it had already ended), and
    /// the server's handler sees its context cancelled.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}
