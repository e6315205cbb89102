//! Batched calls (`Client::batch`, issue 22): one result per item, in order, over every
//! transport; an item's failure is its own; one deadline for the whole batch; cancellation ends
//! every item not finished; the server runs the items concurrently; an oversized batch is
//! refused whole. Also the blocking form the bindings use (`batch_native_blocking_in`).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{counter_clients, req, Counts, GET, SLOW};
use hms_ffi_core::mapping::ValueOut;
use hms_ffi_core::{
    runtime::block_on, CallOptions, CancellationToken, Code, JustWait, Value, MAX_BATCH,
};

fn id(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap()
}

fn code(r: &hms_ffi_core::Result<Value>) -> Code {
    r.as_ref().map_or_else(|e| e.code(), |_| Code::Ok)
}

#[test]
fn every_item_gets_its_own_result_in_order_on_every_transport() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("order", &counts) {
        // More items than are in flight at once, with failures among them.
        let mut items: Vec<(&str, Value)> = (0..300)
            .map(|i| (GET, req(&format!("{at}#{i}"), 0)))
            .collect();
        items[7] = ("res.v1.Counter/Nope", req("x", 0));
        items[8] = (GET, Value::message([("id", Value::from(3i64))]));
        // fail_first 5 on a method without a retry policy: UNAVAILABLE from the handler.
        items[9] = (GET, req(&format!("{at}#fails"), 5));
        let opts = CallOptions::with_timeout(Duration::from_secs(20));
        let results = block_on(client.batch(&items, &opts)).unwrap().unwrap();
        assert_eq!(results.len(), 300, "{at}");
        for (i, r) in results.iter().enumerate() {
            match i {
                7 => assert_eq!(code(r), Code::Unimplemented, "{at}: {r:?}"),
                8 => assert_eq!(code(r), Code::InvalidArgument, "{at}: {r:?}"),
                9 => assert_eq!(code(r), Code::Unavailable, "{at}: {r:?}"),
                _ => assert_eq!(id(r.as_ref().unwrap()), format!("{at}#{i}"), "{at}"),
            }
        }
        // Each call that was sent ran once; the unsendable ones never reached the server.
        assert_eq!(counts.get(&format!("{at}#0")), 1);
        assert_eq!(counts.get("x"), 0);
    }
}

#[test]
fn the_server_runs_the_items_of_a_batch_concurrently() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("concurrent", &counts) {
        // Twenty calls of 300 ms each: sequentially 6 s; concurrently about 0.3 s.
        let slow = Value::message([("millis", Value::from(300i64))]);
        let items: Vec<(&str, Value)> = (0..20).map(|_| (SLOW, slow.clone())).collect();
        let start = Instant::now();
        let opts = CallOptions::with_timeout(Duration::from_secs(3));
        let results = block_on(client.batch(&items, &opts)).unwrap().unwrap();
        assert!(results.iter().all(Result::is_ok), "{at}: {results:?}");
        assert!(start.elapsed() < Duration::from_secs(3), "{at}");
    }
}

#[test]
fn one_deadline_bounds_the_whole_batch() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("deadline", &counts) {
        let slow = |ms: i64| Value::message([("millis", Value::from(ms))]);
        let items = vec![(SLOW, slow(0)), (SLOW, slow(5_000)), (GET, req("quick", 0))];
        let start = Instant::now();
        let opts = CallOptions::with_timeout(Duration::from_millis(300));
        let results = block_on(client.batch(&items, &opts)).unwrap().unwrap();
        let codes: Vec<Code> = results.iter().map(code).collect();
        assert_eq!(
            codes,
            [Code::Ok, Code::DeadlineExceeded, Code::Ok],
            "{at}: {results:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3), "{at}");
        // The time the slow handler was given is the batch's, not more.
        let left = results[0].as_ref().unwrap().get("left_ms").unwrap();
        assert!(left.as_i64().unwrap() <= 300, "{at}: {left:?}");
    }
}

#[test]
fn cancelling_a_batch_ends_every_item_not_finished() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("cancel", &counts) {
        let token = CancellationToken::new();
        let opts = CallOptions {
            timeout: Some(Duration::from_secs(20)),
            cancel: Some(token.clone()),
            ..CallOptions::default()
        };
        let slow = Value::message([("millis", Value::from(10_000i64))]);
        let items = vec![(GET, req("done", 0)), (SLOW, slow.clone()), (SLOW, slow)];
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            token.cancel();
        });
        let start = Instant::now();
        let results = block_on(client.batch(&items, &opts)).unwrap().unwrap();
        canceller.join().unwrap();
        let codes: Vec<Code> = results.iter().map(code).collect();
        assert_eq!(codes, [Code::Ok, Code::Cancelled, Code::Cancelled], "{at}");
        assert!(start.elapsed() < Duration::from_secs(5), "{at}");
    }
}

#[test]
fn an_oversized_batch_is_refused_whole_before_anything_is_sent() {
    let counts = Arc::new(Counts::default());
    let (client, _server, _, _dir) = counter_clients("oversized", &counts).swap_remove(0);
    let items: Vec<(&str, Value)> = (0..=MAX_BATCH).map(|_| (GET, req("big", 0))).collect();
    let err = block_on(client.batch(&items, &CallOptions::default()))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.to_string().contains("at most"), "{err}");
    assert_eq!(counts.get("big"), 0);
    // An empty batch is fine.
    let none = block_on(client.batch(&[], &CallOptions::default())).unwrap();
    assert!(none.unwrap().is_empty());
}

#[test]
fn the_blocking_form_walks_natively_and_keeps_each_items_outcome() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("blocking", &counts) {
        let items: Vec<(&str, Value)> = vec![
            (GET, req("b1", 0)),
            ("res.v1.Counter/Nope", req("b2", 0)),
            (GET, req("b3", 0)),
        ];
        let refs: Vec<(&str, &Value)> = items.iter().map(|(m, r)| (*m, r)).collect();
        let opts = CallOptions::with_timeout(Duration::from_secs(10));
        let results = client
            .batch_native_blocking_in(
                refs.iter().map(|(m, r)| (*m, r)),
                &opts,
                &JustWait,
                &mut ValueOut,
            )
            .unwrap();
        let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(id(&results[0].as_ref().unwrap().message), "b1", "{at}");
        assert_eq!(
            results[1].as_ref().unwrap_err().code(),
            Code::Unimplemented,
            "{at}"
        );
        assert_eq!(id(&results[2].as_ref().unwrap().message), "b3", "{at}");
    }
}

#[test]
fn an_item_the_binding_could_not_convert_keeps_its_error_and_is_not_sent() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("converted", &counts) {
        let bad = hms_ffi_core::Error::new(Code::InvalidArgument, "not JSON");
        let items = vec![
            (GET, Ok(req("v1", 0))),
            (GET, Err(bad)),
            (GET, Ok(req("v3", 0))),
        ];
        let opts = CallOptions::with_timeout(Duration::from_secs(10));
        let results = block_on(client.batch_converted(&items, &opts))
            .unwrap()
            .unwrap();
        assert_eq!(id(&results[0].as_ref().unwrap().message), "v1", "{at}");
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (Code::InvalidArgument, "not JSON")
        );
        assert_eq!(id(&results[2].as_ref().unwrap().message), "v3", "{at}");
    }
}
