//! A call whose request the binding refused (its own encoder or converter failed) is still one of
//! the batch's calls, in every entry the bindings use (`batch_converted`, its blocking form, and
//! `batch_cbor`): it counts towards `MAX_BATCH`, keeps its place and its error (with the field
//! path), and is never sent while the others are. Every binding hands the core all its calls, so
//! the size limit and the positions are the core's alone (`docs/messaging.md`, "Batched calls").
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::resil::{counter_clients, req, Counts, GET};
use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::mapping::TooDeep;
use hms_ffi_core::{
    cbor, runtime::block_on, CallOptions, Client, Code, Error, JustWait, Reply, Result, Value,
    MAX_BATCH,
};

/// The error a binding's converter gives for the field `price` of a request: the core's own
/// (`INVALID_ARGUMENT` with the path as a field violation).
fn refused() -> Error {
    TooDeep::converter("google.type.Decimal", "not a number")
        .at_key(&Value::from("price"))
        .into_error()
}

/// Each entry of the core a binding hands its calls to, with a converted batch of `items`.
type Entry =
    fn(&Client, &[(&str, Result<Value>)], &CallOptions) -> Result<Vec<Result<Reply<Value>>>>;

fn converted(
    c: &Client,
    items: &[(&str, Result<Value>)],
    o: &CallOptions,
) -> Result<Vec<Result<Reply<Value>>>> {
    block_on(c.batch_converted(items, o)).unwrap()
}

fn converted_blocking(
    c: &Client,
    items: &[(&str, Result<Value>)],
    o: &CallOptions,
) -> Result<Vec<Result<Reply<Value>>>> {
    c.batch_converted_blocking_in(items, o, &JustWait)
}

/// `batch_cbor` with each request as a CBOR document (or the same error), the replies read back.
fn cbor_docs(
    c: &Client,
    items: &[(&str, Result<Value>)],
    o: &CallOptions,
) -> Result<Vec<Result<Reply<Value>>>> {
    let docs: Vec<(String, Result<Vec<u8>>)> = items
        .iter()
        .map(|(m, r)| (m.to_string(), r.clone().map(|v| cbor::encode(&v).unwrap())))
        .collect();
    let results = block_on(c.batch_cbor(&docs, o)).unwrap()?;
    Ok(results
        .into_iter()
        .map(|r| r.map(|reply| reply.map(|b| cbor::decode(&b, DEFAULT_MAX_DEPTH).unwrap())))
        .collect())
}

const ENTRIES: [(&str, Entry); 3] = [
    ("batch_converted", converted),
    ("batch_converted_blocking_in", converted_blocking),
    ("batch_cbor", cbor_docs),
];

#[test]
fn a_refused_call_counts_towards_the_limit_and_the_batch_is_refused_whole() {
    let counts = Arc::new(Counts::default());
    let (client, _server, _, _dir) = counter_clients("refused-big", &counts).swap_remove(0);
    let mut items: Vec<(&str, Result<Value>)> =
        (0..MAX_BATCH).map(|_| (GET, Ok(req("big", 0)))).collect();
    items.push((GET, Err(refused())));
    for (name, entry) in ENTRIES {
        let err = entry(&client, &items, &CallOptions::default()).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{name}: {err}");
        assert!(
            err.message().contains(&format!("{}", MAX_BATCH + 1)),
            "{name}: {err}"
        );
    }
    assert_eq!(counts.get("big"), 0, "nothing of a refused batch is sent");
}

#[test]
fn a_batch_of_exactly_the_limit_is_run_even_when_every_call_was_refused() {
    let counts = Arc::new(Counts::default());
    let (client, _server, _, _dir) = counter_clients("refused-max", &counts).swap_remove(0);
    let mut items: Vec<(&str, Result<Value>)> =
        (0..MAX_BATCH).map(|_| (GET, Err(refused()))).collect();
    for (name, entry) in ENTRIES {
        let results = entry(&client, &items, &CallOptions::default()).unwrap();
        assert_eq!(results.len(), MAX_BATCH, "{name}");
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().unwrap_err().code() == Code::InvalidArgument),
            "{name}"
        );
    }
    items.push((GET, Err(refused())));
    for (name, entry) in ENTRIES {
        let err = entry(&client, &items, &CallOptions::default()).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{name}: {err}");
    }
}

#[test]
fn a_refused_call_keeps_its_place_and_its_field_path_while_the_others_are_sent() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("refused-place", &counts) {
        for (name, entry) in ENTRIES {
            let id = |i: usize| format!("{at}/{name}#{i}");
            let items: Vec<(&str, Result<Value>)> = vec![
                (GET, Ok(req(&id(0), 0))),
                (GET, Err(refused())),
                (GET, Ok(req(&id(2), 0))),
                ("res.v1.Counter/Nope", Err(refused())),
            ];
            let opts = CallOptions::with_timeout(Duration::from_secs(10));
            let results = entry(&client, &items, &opts).unwrap();
            assert_eq!(results.len(), 4, "{at} {name}");
            for i in [0, 2] {
                let reply = &results[i].as_ref().unwrap().message;
                assert_eq!(
                    reply.get("id").and_then(Value::as_str),
                    Some(id(i).as_str())
                );
                assert_eq!(counts.get(&id(i)), 1, "{at} {name}: call {i} sent once");
            }
            for i in [1, 3] {
                let err = results[i].as_ref().unwrap_err();
                assert_eq!(err.code(), Code::InvalidArgument, "{at} {name}: {err}");
                let fields: Vec<&str> = err
                    .field_violations()
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect();
                assert_eq!(fields, ["price"], "{at} {name}");
                assert!(err.field_violations()[0]
                    .description
                    .contains("not a number"));
            }
        }
    }
}
