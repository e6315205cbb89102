//! `Client::batch_cbor`, the batch of the bindings that pass CBOR documents (Node, the C ABI,
//! Go): one reply (CBOR) or error per item, in order; a document that does not read is that
//! item's `INVALID_ARGUMENT` and is not sent; an oversized batch is refused whole.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::resil::{counter_clients, req, Counts, GET};
use hms_ffi_core::limits::DEFAULT_MAX_DEPTH;
use hms_ffi_core::{cbor, runtime::block_on, CallOptions, Code, Value, MAX_BATCH};

#[test]
fn each_document_gets_its_own_reply_or_error_in_order() {
    let counts = Arc::new(Counts::default());
    for (client, _server, at, _dir) in counter_clients("batch-cbor", &counts) {
        let doc = |id: &str| cbor::encode(&req(id, 0)).unwrap();
        let items = vec![
            (GET.to_string(), Ok(doc("c1"))),
            (GET.to_string(), Ok(vec![0xff, 0x00])),
            ("res.v1.Counter/Nope".to_string(), Ok(doc("c3"))),
            (GET.to_string(), Ok(doc("c4"))),
        ];
        let opts = CallOptions::with_timeout(Duration::from_secs(10));
        let results = block_on(client.batch_cbor(&items, &opts)).unwrap().unwrap();
        let id = |i: usize| {
            let reply = cbor::decode(&results[i].as_ref().unwrap().message, DEFAULT_MAX_DEPTH);
            let reply = reply.unwrap();
            reply.get("id").and_then(Value::as_str).unwrap().to_string()
        };
        let code = |i: usize| results[i].as_ref().unwrap_err().code();
        assert_eq!(results.len(), 4, "{at}");
        assert_eq!(id(0), "c1", "{at}");
        assert_eq!(code(1), Code::InvalidArgument, "{at}");
        assert_eq!(code(2), Code::Unimplemented, "{at}");
        assert_eq!(id(3), "c4", "{at}");
        assert_eq!(counts.get("c3"), 0, "{at}");
    }
}

#[test]
fn an_oversized_cbor_batch_is_refused_whole() {
    let counts = Arc::new(Counts::default());
    let (client, _server, _, _dir) = counter_clients("batch-cbor-big", &counts).swap_remove(0);
    let doc = cbor::encode(&req("big", 0)).unwrap();
    let items: Vec<(String, hms_ffi_core::Result<Vec<u8>>)> = (0..=MAX_BATCH)
        .map(|_| (GET.to_string(), Ok(doc.clone())))
        .collect();
    let err = block_on(client.batch_cbor(&items, &CallOptions::default()))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert_eq!(counts.get("big"), 0);
}
