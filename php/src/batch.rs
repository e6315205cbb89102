//! The body of `HmsFfi\Client::batch()`: many unary calls as one request of the caller's, one
//! entry per call in order (the reply array, or the call's `HmsFfi\…Exception` as an object, not
//! thrown). The rules (one deadline, partial failure, the size limit) are the core's
//! `batch_converted`; the wait runs this thread's servers' handlers meanwhile, as
//! a single call does (a PHP server of this process may be the one called).

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert;
use crate::converters::Convs;
use crate::errors::{self, php_result};
use crate::ocore::mapping::NativeFail;
use crate::ocore::{self, CallOptions, Value};
use crate::stream::until;

/// `[[$method, $request], …]` called as one batch; one entry per call, in order.
pub(crate) fn batch(
    client: &ocore::Client,
    convs: &Convs,
    calls: &ZendHashTable,
    opts: CallOptions,
) -> PhpResult<Vec<Zval>> {
    let mut items: Vec<(String, ocore::Result<Value>)> = Vec::with_capacity(calls.len());
    for call in calls.values() {
        let (method, request) = pair(call)?;
        // A request nested past the core's limit, or whose converter threw, is that call's
        // error; the others go on.
        let desc = client.schema().method(&method).map(|m| m.input());
        match convs.message(desc.as_ref(), request) {
            Ok(value) => items.push((method, value)),
            Err(NativeFail::Deep(d)) => items.push((method, Err(d.into_error()))),
            Err(NativeFail::Native(raised)) => return Err(raised),
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
            Ok(reply) => match convert::received_or_core(&reply.message, convs) {
                Err(NativeFail::Deep(d)) => errors::exception_object(&d.into_error()),
                other => other.map_err(|f| f.into_native(errors::to_php)),
            },
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
