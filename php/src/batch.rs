//! The body of `HmsFfi\Client::batch()`: many unary calls as one request of the caller's, one
//! entry per call in order (the reply array, or the call's `HmsFfi\…Exception` as an object, not
//! thrown). The rules (one deadline, partial failure, the size limit) are the core's
//! `encode_batch`/`batch_encoded`; the wait runs this thread's servers' handlers meanwhile, as
//! a single call does (a PHP server of this process may be the one called).

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use std::convert::Infallible;

use crate::converters::{Convs, PhpIn};
use crate::errors::{self, php_result};
use crate::ocore::mapping::NativeFail;
use crate::ocore::{self, CallOptions, EncodedRequest, NativeResult};
use crate::stream::until;
use crate::walk::PhpOut;

/// `[[$method, $request], …]` called as one batch; one entry per call, in order. The requests
/// are walked to bytes from their PHP values and the replies made PHP values from their bytes
/// (walk.rs) on this thread; the calls run on the core's runtime.
pub(crate) fn batch(
    client: &ocore::Client,
    convs: &Convs,
    calls: &ZendHashTable,
    opts: CallOptions,
) -> PhpResult<Vec<Zval>> {
    let pairs = calls.values().map(pair).collect::<PhpResult<Vec<_>>>()?;
    let inputs: Vec<(&str, PhpIn)> = pairs
        .iter()
        .map(|(method, request)| (method.as_str(), PhpIn::new(request, convs)))
        .collect();
    let walked = client.encode_batch(inputs.iter().map(|(m, i)| (*m, i)), &opts);
    // A request nested past the core's limit, or whose converter threw, is that call's error;
    // the others go on.
    let requests = php_result(walked)?
        .into_iter()
        .map(|r| match r {
            Ok(r) => Ok(Ok(r)),
            Err(NativeFail::Deep(d)) => Ok(Ok(Err(d.into_error()))),
            Err(NativeFail::Native(raised)) => Err(raised),
        })
        .collect::<PhpResult<Vec<NativeResult<EncodedRequest, Infallible>>>>()?;
    let c = client.clone();
    let replies = php_result(until(
        async move { Ok(c.batch_encoded(requests, &opts).await) },
    ))?;
    let mut out = PhpOut::new(convs);
    replies
        .into_iter()
        .map(|r| {
            let reply = r.unwrap_or_else(|never| match never {});
            match client.reply_of(reply, &mut out) {
                Ok(Ok(reply)) => Ok(reply.message),
                Ok(Err(e)) => errors::exception_object(&e),
                Err(NativeFail::Deep(d)) => errors::exception_object(&d.into_error()),
                Err(raised) => Err(raised.into_native(errors::to_php)),
            }
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
