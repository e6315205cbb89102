//! What a client's calls are told in PHP arrays: call options (`timeout`, `metadata`,
//! `detach`, `wait_for_ready`), endpoint lists and options given as JSON (`resilience`,
//! `service_config`). Bad ones throw `HmsFfi\InvalidArgumentException`.

use std::time::Duration;

use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, ZendHashTable, Zval};

use crate::convert;
use crate::errors;
use crate::ocore::{self, CallOptions, Metadata};

/// `['timeout' => seconds, 'metadata' => ['key' => 'value', …], 'detach' => bool,
/// 'wait_for_ready' => bool]` as call options.
pub(crate) fn call_options(options: Option<&ZendHashTable>) -> PhpResult<CallOptions> {
    // Taken here, on the thread that runs the handler: a call to a server of this process is
    // polled elsewhere while this thread runs that server's handlers.
    let mut out = CallOptions {
        parent: ocore::context::inherited(),
        ..CallOptions::default()
    };
    let Some(options) = options else {
        return Ok(out);
    };
    for entry in convert::named_entries(options) {
        let (key, value) = entry?;
        match key.as_str() {
            "timeout" if value.is_null() => {}
            "timeout" => {
                let seconds = value
                    .double()
                    .or_else(|| value.long().map(|n| n as f64))
                    .filter(|s| s.is_finite())
                    .ok_or_else(|| {
                        errors::bad_option("'timeout' must be a number of seconds".into())
                    })?;
                out.timeout = Some(Duration::from_secs_f64(seconds.max(0.0)));
            }
            "metadata" => {
                let mut md = Metadata::new();
                let entries = value
                    .array()
                    .ok_or_else(|| errors::bad_option("'metadata' must be an array".into()))?;
                for entry in convert::named_entries(entries) {
                    let (k, v) = entry?;
                    let v = v.string().ok_or_else(|| {
                        errors::bad_option(format!("metadata value of '{k}' must be a string"))
                    })?;
                    md.insert(k, v);
                }
                out.metadata = md;
            }
            // A call made in a handler inherits that call's deadline, cancellation and trace;
            // `'detach' => true` opts out.
            "detach" => {
                out.detach = value
                    .bool()
                    .ok_or_else(|| errors::bad_option("'detach' must be a bool".into()))?;
            }
            // Wait for a connection up to the deadline instead of failing `Unavailable` at once;
            // absent or null: the client's default.
            "wait_for_ready" if value.is_null() => {}
            "wait_for_ready" => {
                let wait = value
                    .bool()
                    .ok_or_else(|| errors::bad_option("'wait_for_ready' must be a bool".into()))?;
                out.wait_for_ready = Some(wait);
            }
            other => {
                return Err(errors::bad_option(format!(
                "unknown call option '{other}' (known: timeout, metadata, detach, wait_for_ready)"
            )))
            }
        }
    }
    Ok(out)
}

/// One endpoint URI, or a list of them.
pub(crate) fn uri_list(uri: &Zval) -> PhpResult<Vec<String>> {
    if let Some(one) = uri.string() {
        return Ok(vec![one]);
    }
    let list: Option<Vec<String>> = uri
        .array()
        .map(|a| a.values().map(Zval::string).collect())
        .unwrap_or_default();
    // An empty list is the core's to refuse, as it does for every binding.
    list.ok_or_else(|| {
        errors::bad_option("the endpoint must be a URI string or a list of them".into())
    })
}

/// An option given as JSON (`resilience`, `service_config`): its text, or an array encoded by
/// PHP's own `json_encode`.
pub(crate) fn json_text(value: &Zval, what: &str) -> PhpResult<String> {
    if let Some(text) = value.string() {
        return Ok(text);
    }
    if !value.is_array() {
        return Err(errors::bad_option(format!(
            "{what} must be an array or its JSON text"
        )));
    }
    let encode = ZendCallable::try_from_name("json_encode")
        .map_err(|e| errors::bad_option(format!("json_encode: {e}")))?;
    let encoded = encode.try_call(vec![value]);
    encoded
        .ok()
        .and_then(|z| z.string())
        .ok_or_else(|| errors::bad_option(format!("{what} does not encode as JSON")))
}
