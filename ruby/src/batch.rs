//! `HmsFfi::Client#batch`'s native half: many unary calls as one request of the caller's, one
//! entry per call in order (the reply Hash, or the call's `HmsFfi::Error` as a value). The rules
//! (one deadline, partial failure, cancellation, the size limit over every call) are the core's
//! `batch_converted_blocking_in`: every call goes to the core, one whose request does not
//! convert as its error; the wait releases the GVL and stops on a Ruby interrupt as a single
//! call does.

use std::time::Duration;

use magnus::{Error, RArray, RHash, Ruby, Value as RValue};
use tokio_util::sync::CancellationToken;

use crate::client::{block_interruptibly, metadata, wait_for_ready, CancelToken, Client};
use crate::convert;
use crate::errors::to_ruby;
use crate::ocore::{self, CallOptions, Value};

/// `_batch(methods, requests, timeout, metadata, cancel, wait_for_ready, converters)`:
/// `requests[i]` for `methods[i]`; an Array with one entry per call, converted by the client's
/// converters as a single call's. A request that does not convert is its own entry (its
/// `HmsFfi::Error`), counted towards the size as any call; a batch of more than 100 000 calls
/// raises `HmsFfi::InvalidArgument`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn batch(
    ruby: &Ruby,
    rb_self: &Client,
    methods: Vec<String>,
    requests: RArray,
    timeout: Option<f64>,
    md: Option<RHash>,
    cancel: Option<&CancelToken>,
    wait: Option<RValue>,
    convs: Option<RArray>,
) -> Result<RArray, Error> {
    let mut items: Vec<(&str, ocore::Result<Value>)> = Vec::with_capacity(methods.len());
    for (i, method) in methods.iter().enumerate() {
        let request = requests.entry::<RValue>(i as isize)?;
        items.push((method.as_str(), convert::request_of(ruby, request, convs)?));
    }
    // Cancelled by the caller's token and by a Ruby interrupt, which leaves the token as is.
    let interrupt = cancel.map_or_else(CancellationToken::new, |c| c.inner.child_token());
    let opts = CallOptions {
        timeout: timeout.map(|t| Duration::from_secs_f64(t.max(0.0))),
        metadata: metadata(md)?,
        cancel: Some(interrupt.clone()),
        wait_for_ready: wait_for_ready(ruby, wait)?,
        ..CallOptions::default()
    };
    let results = block_interruptibly(ruby, &interrupt, |wait| {
        rb_self
            .inner
            .batch_converted_blocking_in(&items, &opts, wait)
    })?;
    let out = ruby.ary_new_capa(results.len());
    for r in results {
        let entry = match r {
            Ok(reply) => convert::to_ruby_converting(ruby, &reply.message, convs)?,
            Err(e) => exception(to_ruby(ruby, e))?,
        };
        out.push(entry)?;
    }
    Ok(out)
}

/// A call's error as the exception object an entry holds; an error that is no exception (a
/// `throw`) ends the whole batch.
fn exception(e: Error) -> Result<RValue, Error> {
    match e.value() {
        Some(v) => Ok(v),
        None => Err(e),
    }
}
