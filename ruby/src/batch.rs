//! `HmsFfi::Client#batch`'s native half: many unary calls as one request of the caller's, one
//! entry per call in order (the reply Hash, or the call's `HmsFfi::Error` as a value). The rules
//! (one deadline, partial failure, cancellation, the size limit) are the core's
//! `batch_native_blocking_in`; the wait releases the GVL and stops on a Ruby interrupt as a
//! single call does.

use std::time::Duration;

use magnus::{prelude::*, Error, RArray, RHash, Ruby, Value as RValue};
use tokio_util::sync::CancellationToken;

use crate::client::{block_interruptibly, metadata, wait_for_ready, CancelToken, Client};
use crate::convert;
use crate::errors::to_ruby;
use crate::ocore::mapping::ValueOut;
use crate::ocore::{CallOptions, Value};

/// `_batch(methods, requests, timeout, metadata, cancel, wait_for_ready, converters)`:
/// `requests[i]` for `methods[i]`; an Array with one entry per call, converted by the client's
/// converters as a single call's. A request that does not convert is its own
/// entry (the exception); a batch of more than 100 000 calls raises `HmsFfi::InvalidArgument`.
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
    let mut entries: Vec<Option<RValue>> = vec![None; methods.len()];
    let mut sent: Vec<usize> = Vec::with_capacity(methods.len());
    let mut values: Vec<(&str, Value)> = Vec::with_capacity(methods.len());
    for (i, method) in methods.iter().enumerate() {
        let converted = requests
            .entry::<RValue>(i as isize)
            .and_then(|r| convert::from_ruby_converting(ruby, r, convs, false));
        match converted {
            Ok(v) => {
                values.push((method, v));
                sent.push(i);
            }
            Err(e) => entries[i] = Some(exception(e)?),
        }
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
    let refs: Vec<(&str, &Value)> = values.iter().map(|(m, v)| (*m, v)).collect();
    let results = block_interruptibly(ruby, &interrupt, |wait| {
        let items = refs.iter().map(|(m, v)| (*m, v));
        rb_self
            .inner
            .batch_native_blocking_in(items, &opts, wait, &mut ValueOut)
    })?;
    for (k, r) in results.into_iter().enumerate() {
        let entry = match r {
            Ok(Ok(reply)) => convert::to_ruby_converting(ruby, &reply.message, convs)?,
            Ok(Err(e)) => exception(to_ruby(ruby, e))?,
            Err(never) => match never {},
        };
        entries[sent[k]] = Some(entry);
    }
    let out = ruby.ary_new_capa(entries.len());
    for entry in entries {
        out.push(entry.unwrap_or_else(|| ruby.qnil().as_value()))?;
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
