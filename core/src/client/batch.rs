//! Batched calls: [`Client::batch`] runs many unary calls as one request of the caller's. Every
//! item's request is walked first (each walk its own outcome), then the calls go out together
//! over the client's connection, at most [`BATCH_IN_FLIGHT`] at a time, and one result comes back
//! per item, in order: a reply or a typed error. Each item goes through the same path as a single
//! call (interceptors, retry policy, metrics, trace), so a batch changes how many hand-offs the
//! caller pays, not what a call means. The rules, for every binding (`docs/messaging.md`,
//! "Batched calls"):
//! - **One deadline.** The batch's timeout is counted from the start of the batch and bounds every
//!   item: an item that starts late gets what is left, and one that could not start before the
//!   deadline ends `DEADLINE_EXCEEDED` without being sent.
//! - **Partial failure.** An item's failure (its request does not convert, here or in the
//!   binding, its method is unknown, the server answers an error) is that item's result, in its
//!   place; the others go on.
//! - **Cancellation.** The batch's cancel token (or dropping its future) cancels every item not yet
//!   finished; each ends `CANCELLED`.
//! - **Metadata and options** (wait for ready, codec, parent) apply to every item.
//! - **Size.** At most [`MAX_BATCH`] items: a larger batch is refused whole with
//!   `INVALID_ARGUMENT`, before anything is sent. Every item counts, one whose request a
//!   binding could not convert too: a binding hands the core every item, a refused one as its
//!   error ([`batch_converted`](Client::batch_converted), `batch_cbor`), never only the rest.

use std::convert::Infallible;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};

use super::{CallOptions, Client, EncodedReply, EncodedRequest};
use crate::call::{in_blocker, Blocker};
use crate::codec::never;
use crate::error::{Code, Error, Result};
use crate::exchange::NativeResult;
use crate::mapping::{Input, Output, ValueOut};
use crate::metadata::Reply;
use crate::value::Value;

/// How many calls of one batch are in flight at once; the next starts as one ends.
pub const BATCH_IN_FLIGHT: usize = 128;

/// The most items one batch may hold.
pub const MAX_BATCH: usize = 100_000;

/// One item's outcome before the reply is walked: the encoded reply, an error of the core, or
/// the binding's own error raised while its request was walked.
pub type EncodedItem<E> = NativeResult<EncodedReply, E>;

/// Each item's reply made into a binding's objects, or its error (the core's, or the binding's
/// own raised while walking); the outer error refuses the whole batch.
pub type NativeBatch<N, E> = Result<Vec<NativeResult<Reply<N>, E>>>;

impl Client {
    /// Calls every `(method, request)` of `items` as one batch (see the module's rules) and
    /// returns one result per item, in order. Refused whole only when it holds more than
    /// [`MAX_BATCH`] items.
    pub async fn batch(
        &self,
        items: &[(&str, Value)],
        opts: &CallOptions,
    ) -> Result<Vec<Result<Value>>> {
        let refs: Vec<(&str, &Value)> = items.iter().map(|(m, r)| (*m, r)).collect();
        let requests = self.encode_batch(refs.iter().map(|(m, r)| (*m, r)), opts)?;
        let replies = self.values_of(self.batch_encoded(requests, opts).await);
        Ok(replies
            .into_iter()
            .map(|r| r.map(|reply| reply.message))
            .collect())
    }

    /// [`batch`](Client::batch) for a binding that converts each request to a [`Value`] itself
    /// (from JSON text, say): an item whose conversion failed keeps that error as its result,
    /// in its place, and is not sent — but it counts towards [`MAX_BATCH`] as any item does.
    /// Each reply comes with its response metadata.
    pub async fn batch_converted(
        &self,
        items: &[(&str, Result<Value>)],
        opts: &CallOptions,
    ) -> Result<Vec<Result<Reply<Value>>>> {
        let requests = self.encode_converted(items, opts)?;
        Ok(self.values_of(self.batch_encoded(requests, opts).await))
    }

    /// [`batch_converted`](Client::batch_converted) from synchronous code: the calls run inside
    /// [`Blocker::unlocked`], on the calling thread, as
    /// [`batch_native_blocking_in`](Client::batch_native_blocking_in)'s do (Ruby, whose walk
    /// to values runs first with the GVL held). The outer error refuses the whole batch.
    pub fn batch_converted_blocking_in(
        &self,
        items: &[(&str, Result<Value>)],
        opts: &CallOptions,
        blocker: &dyn Blocker,
    ) -> Result<Vec<Result<Reply<Value>>>> {
        let requests = self.encode_converted(items, opts)?;
        Ok(self.values_of(self.batch_encoded_blocking_in(requests, opts, blocker)?))
    }

    /// Walks each converted request; an item whose conversion failed keeps its error. Every
    /// item counts towards [`MAX_BATCH`], the failed ones too.
    fn encode_converted(
        &self,
        items: &[(&str, Result<Value>)],
        opts: &CallOptions,
    ) -> Result<Vec<NativeResult<EncodedRequest, Infallible>>> {
        check_size(items.len())?;
        Ok(items
            .iter()
            .map(|(method, request)| match request {
                Ok(value) => self.encode_request(method, &value, opts),
                Err(e) => Ok(Err(e.clone())),
            })
            .collect())
    }

    /// Walks each item's request, as [`encode_request`](Client::encode_request) does for one
    /// call: for a binding whose objects cannot leave its thread, before
    /// [`batch_encoded`](Client::batch_encoded) runs the calls elsewhere. Refuses a batch of
    /// more than [`MAX_BATCH`] items whole.
    pub fn encode_batch<'a, I: Input + 'a>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a str, &'a I)>,
        opts: &CallOptions,
    ) -> Result<Vec<NativeResult<EncodedRequest, I::Error>>> {
        check_size(items.len())?;
        Ok(items
            .map(|(method, request)| self.encode_request(method, request, opts))
            .collect())
    }

    /// Runs the calls of a batch whose requests [`encode_batch`](Client::encode_batch) walked;
    /// an item whose walk failed keeps its error and is not sent.
    pub async fn batch_encoded<E: Send>(
        &self,
        requests: Vec<NativeResult<EncodedRequest, E>>,
        opts: &CallOptions,
    ) -> Vec<EncodedItem<E>> {
        let deadline = opts.timeout.map(|t| Instant::now() + t);
        stream::iter(requests)
            .map(|request| {
                let (client, opts) = (self.clone(), opts.clone());
                async move {
                    match request {
                        // Each call a task of its own: a handler run inline (an `inproc://`
                        // server's blocking handler runs on the thread that polls its call)
                        // must not hold up the batch's other calls.
                        Ok(Ok(request)) => Ok(crate::runtime::spawn_and_wait(async move {
                            client.batch_item(request, &opts, deadline).await
                        })
                        .await),
                        Ok(Err(e)) => Ok(Err(e)),
                        Err(raised) => Err(raised),
                    }
                }
            })
            .buffered(BATCH_IN_FLIGHT)
            .collect()
            .await
    }

    /// [`batch`](Client::batch) with a binding's own objects, from synchronous code: the
    /// requests are walked and the replies made by `out` with the caller's lock held; the calls
    /// run inside [`Blocker::unlocked`] (Python gives up the GIL there), on the calling thread.
    /// The outer error refuses the whole batch ([`MAX_BATCH`]).
    pub fn batch_native_blocking_in<'a, I, O>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a str, &'a I)>,
        opts: &CallOptions,
        blocker: &dyn Blocker,
        out: &mut O,
    ) -> NativeBatch<O::Node, I::Error>
    where
        I: Input + 'a,
        I::Error: Send,
        O: Output<Error = I::Error>,
    {
        let requests = self.encode_batch(items, opts)?;
        let replies = self.batch_encoded_blocking_in(requests, opts, blocker)?;
        Ok(replies
            .into_iter()
            .map(|r| r.and_then(|r| self.reply_of(r, out)))
            .collect())
    }

    /// [`batch_encoded`](Client::batch_encoded) inside [`Blocker::unlocked`], on the calling
    /// thread; `CANCELLED` when the blocker gave up before the calls started.
    fn batch_encoded_blocking_in<E: Send>(
        &self,
        requests: Vec<NativeResult<EncodedRequest, E>>,
        opts: &CallOptions,
        blocker: &dyn Blocker,
    ) -> Result<Vec<EncodedItem<E>>> {
        let mut requests = Some(requests);
        let mut replies = None;
        blocker.unlocked(&mut || {
            if let Some(requests) = requests.take() {
                let run = self.batch_encoded(requests, opts);
                replies = Some(in_blocker(blocker, || crate::runtime::block_on(run)));
            }
        });
        replies.unwrap_or_else(|| Err(interrupted()))
    }

    /// Each item's reply as a [`Value`] with its response metadata, or its error.
    fn values_of(&self, replies: Vec<EncodedItem<Infallible>>) -> Vec<Result<Reply<Value>>> {
        replies
            .into_iter()
            .map(|r| never(r.and_then(|r| self.reply_of(r, &mut ValueOut))))
            .collect()
    }

    /// Walks one item's reply with `out` ([`decode_reply`](Client::decode_reply) for a batch).
    pub fn reply_of<O: Output>(
        &self,
        reply: Result<EncodedReply>,
        out: &mut O,
    ) -> NativeResult<Reply<O::Node>, O::Error> {
        match reply {
            Ok(reply) => self.decode_reply(reply, out),
            Err(e) => Ok(Err(e)),
        }
    }

    /// One item of a batch: the time left of the batch's deadline, then the call.
    async fn batch_item(
        &self,
        request: EncodedRequest,
        opts: &CallOptions,
        deadline: Option<Instant>,
    ) -> Result<EncodedReply> {
        let Some(deadline) = deadline else {
            return self.call_encoded(request, opts).await;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new(
                Code::DeadlineExceeded,
                "the batch's deadline passed before this item was sent",
            ));
        }
        let opts = CallOptions {
            timeout: Some(left),
            ..opts.clone()
        };
        self.call_encoded(request, &opts).await
    }
}

pub(super) fn check_size(len: usize) -> Result<()> {
    if len > MAX_BATCH {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("a batch holds at most {MAX_BATCH} calls; this one has {len}"),
        ));
    }
    Ok(())
}

fn interrupted() -> Error {
    Error::new(
        Code::Cancelled,
        "the batch was interrupted before it started",
    )
}
