//! The body of `HmsFfi\Client::batch()`: many unary calls as one request of the caller's, one
//! entry per call in order (the reply array, or the call's `HmsFfi\…Exception` as an object, not
//! thrown). The rules (one deadline, partial failure, the size limit) are the core's
//! `batch_converted`; the wait runs this thread's servers' handlers meanwhile, as
//! a single call does (a PHP server of this process may be the one called).

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert;
use crate::errors::{self, php_result};
use crate::ocore::{self, CallOptions, Value};
use crate::stream::until;

/// `[[$method, $request], …]` called as one batch; one entry per call, in order.
pub(crate) fn batch(
    client: &ocore::Client,
    calls: &ZendHashTable,
    opts: CallOptions,
) -> PhpResult<Vec<Zval>> {
    let mut items: Vec<(String, ocore::Result<Value>)> = Vec::with_capacity(calls.len());
    for call in calls.values() {
        let (method, request) = pair(call)?;
        // A request nested past the core's limit is that call's error; the others go on.
        match convert::reply_from_php(request) {
            Ok(value) => items.push((method, Ok(value))),
            Err(Ok(e)) => items.push((method, Err(e))),
            Err(Err(raised)) => return Err(raised),
        }
    }
    let c = client.clone();
    let replies = php_result(until(async move {
        let (methods, requests): (Vec<String>, Vec<_>) = items.into_iter().unzip();
        let refs: Vec<(&str, ocore::Result<Value>)> =
            methods.iter().map(String::as_str).zip(requests).collect();
        c.batch_converted(&refs, &opts).await
    }))?;
    replies
        .into_iter()
        .map(|r| match r {
            Ok(reply) => convert::to_php(&reply.message),
            Err(e) => errors::exception_object(&e),
        })
        .collect()
}

/// One call of a batch, `[$method, $request]`.
fn pair(call: &Zval) -> PhpResult<(String, &Zval)> {
    let shape =
        || errors::bad_option("each call of a batch is [string $method, array $request]".into());
    let pair = call.array().ok_or_else(shape)?;
    let method = pair.get_index(0).and_then(Zval::string).ok_or_else(shape)?;
    let request = pair.get_index(1).ok_or_else(shape)?;
    Ok((method, request))
}
