//! The body of `HmsFfi\Client::batch()`: many unary calls as one request of the caller's, one
//! entry per call in order (the reply array, or the call's `HmsFfi\…Exception` as an object, not
//! thrown). The rules (one deadline, partial failure, the size limit) are the core's
//! `encode_batch` + `batch_encoded`; the wait runs this thread's servers' handlers meanwhile, as
//! a single call does (a PHP server of this process may be the one called).

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::convert;
use crate::errors::{self, php_result};
use crate::ocore::mapping::ValueOut;
use crate::ocore::{self, CallOptions, Value};
use crate::stream::until;

/// `[[$method, $request], …]` called as one batch; one entry per call, in order.
pub(crate) fn batch(
    client: &ocore::Client,
    calls: &ZendHashTable,
    opts: CallOptions,
) -> PhpResult<Vec<Zval>> {
    let mut entries: Vec<Option<Zval>> = Vec::with_capacity(calls.len());
    let mut items: Vec<(String, Value)> = Vec::with_capacity(calls.len());
    let mut sent = Vec::with_capacity(calls.len());
    for (i, call) in calls.values().enumerate() {
        let (method, request) = pair(call)?;
        // A request nested past the core's limit is that call's error; the others go on.
        match convert::reply_from_php(request) {
            Ok(value) => {
                items.push((method, value));
                sent.push(i);
                entries.push(None);
            }
            Err(Ok(e)) => entries.push(Some(errors::exception_object(&e)?)),
            Err(Err(raised)) => return Err(raised),
        }
    }
    let refs: Vec<(&str, &Value)> = items.iter().map(|(m, v)| (m.as_str(), v)).collect();
    let requests = php_result(client.encode_batch(refs.iter().map(|(m, v)| (*m, v)), &opts))?;
    let (c, o) = (client.clone(), opts);
    let replies = php_result(until(
        async move { Ok(c.batch_encoded(requests, &o).await) },
    ))?;
    for (k, r) in replies.into_iter().enumerate() {
        let entry = match r.and_then(|r| client.reply_of(r, &mut ValueOut)) {
            Ok(Ok(reply)) => convert::to_php(&reply.message)?,
            Ok(Err(e)) => errors::exception_object(&e)?,
            Err(never) => match never {},
        };
        entries[sent[k]] = Some(entry);
    }
    Ok(entries.into_iter().flatten().collect())
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
