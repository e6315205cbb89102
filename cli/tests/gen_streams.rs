//! The streaming methods of the generated Rust conformance module (`gen/rust/
//! hms_conformance_v1.rs`, as `hms-ffi gen --lang rust` writes it, checked current by `gen.rs`),
//! run: a typed service's server-, client- and bidi-streaming methods (`Sink`, `Requests`)
//! called with the typed client's `Stream` over inproc, as `examples/typed/kotlin/
//! StreamsTyped.kt`, `streams_typed.py` and `streams_typed.ts` do in their languages. Every call
//! has a deadline (the client's options) and the whole test a timeout.

// Generated code is left as generated (scripts/gen-typed.sh --check compares it), not rustfmt'd.
#[rustfmt::skip]
#[path = "../../gen/rust/hms_conformance_v1.rs"]
mod hms_conformance_v1;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hms_conformance_v1::all_types::Choice;
use hms_conformance_v1::{register_conformance, AllTypes, ConformanceClient, ConformanceService};
use hms_conformance_v1::{Item, Requests, Sink, Stream};
use hms_ffi_core::{CallOptions, Context, Result, Schema, Server};

/// The typed server: the three streaming methods of the Conformance service.
struct Streams;

impl ConformanceService for Streams {
    /// One reply per tag of the request, numbered: the oneof's `number` set.
    async fn server_stream(
        &self,
        request: AllTypes,
        replies: Sink<AllTypes>,
        _ctx: Context,
    ) -> Result<()> {
        for (i, tag) in (0_i64..).zip(request.tags) {
            replies.send(&AllTypes {
                tags: vec![tag],
                choice: Some(Choice::Number(i)),
                ..AllTypes::default()
            })?;
        }
        Ok(())
    }

    /// Every request's items in one reply, with the quantity of each by name.
    async fn client_stream(
        &self,
        mut requests: Requests<AllTypes>,
        _ctx: Context,
    ) -> Result<AllTypes> {
        let mut items = Vec::new();
        while let Some(r) = requests.next().await {
            items.extend(r?.items);
        }
        let counts = items
            .iter()
            .map(|i| (i.name.clone(), i64::from(i.qty)))
            .collect();
        Ok(AllTypes {
            items,
            counts,
            ..AllTypes::default()
        })
    }

    /// A reply to each request as it comes: its text upper-cased, its numbers summed.
    async fn bidi(
        &self,
        mut requests: Requests<AllTypes>,
        replies: Sink<AllTypes>,
        _ctx: Context,
    ) -> Result<()> {
        while let Some(r) = requests.next().await {
            let r = r?;
            let choice = match r.choice {
                Some(Choice::Text(t)) => Some(Choice::Text(t.to_uppercase())),
                other => other,
            };
            replies.send(&AllTypes {
                choice,
                wrapped_int: Some(r.numbers.iter().sum()),
                ..AllTypes::default()
            })?;
        }
        Ok(())
    }
}

/// Every reply of `stream`, until it ends.
async fn replies(stream: &mut Stream<AllTypes, AllTypes>) -> Result<Vec<AllTypes>> {
    let mut all = Vec::new();
    while let Some(r) = stream.next().await {
        all.push(r?);
    }
    Ok(all)
}

async fn run(uri: &str) -> Result<()> {
    let proto =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/conformance.proto");
    let server = Server::new(Schema::load(&[proto], &[] as &[&str])?);
    register_conformance(&server, Arc::new(Streams))?;
    server.listen(uri)?;
    let mut client = ConformanceClient::new(hms_ffi_core::connect(uri).await?);
    client.options = CallOptions::with_timeout(Duration::from_secs(10));

    let tags = AllTypes {
        tags: vec!["a".into(), "b".into()],
        ..AllTypes::default()
    };
    let got = replies(&mut client.server_stream(&tags).await?).await?;
    let got: Vec<_> = got.into_iter().map(|r| (r.tags, r.choice)).collect();
    assert_eq!(
        got,
        [
            (vec!["a".to_string()], Some(Choice::Number(0))),
            (vec!["b".to_string()], Some(Choice::Number(1)))
        ]
    );

    let mut orders = client.client_stream().await?;
    for (name, qty) in [("tea", 2), ("cake", 1)] {
        let item = Item {
            name: name.into(),
            qty,
            ..Item::default()
        };
        orders.send(&AllTypes {
            items: vec![item],
            ..AllTypes::default()
        })?;
    }
    orders.close_send();
    let total = replies(&mut orders).await?;
    let [total] = total.as_slice() else {
        panic!("a client stream gave {} replies, not one", total.len());
    };
    assert_eq!(
        total.counts,
        [("cake".to_string(), 1), ("tea".to_string(), 2)].into()
    );

    let mut chat = client.bidi().await?;
    let mut got = Vec::new();
    for (choice, numbers) in [
        (Some(Choice::Text("hi".into())), vec![1, 2]),
        (None, vec![40, 2]),
    ] {
        chat.send(&AllTypes {
            choice,
            numbers,
            ..AllTypes::default()
        })?;
        let reply = chat.next().await.expect("a reply to each request")?;
        got.push((reply.choice, reply.wrapped_int));
    }
    chat.close_send();
    assert!(
        chat.next().await.is_none(),
        "a reply after the requests ended"
    );
    assert_eq!(
        got,
        [(Some(Choice::Text("HI".into())), Some(3)), (None, Some(42))]
    );
    Ok(())
}

#[test]
fn a_typed_client_calls_the_three_stream_kinds_of_a_typed_server() {
    let rt = hms_ffi_core::runtime::runtime();
    let outcome = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), run("inproc://gen-streams-rs")).await
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{}: {}", e.code(), e.message()),
        Err(_) => panic!("the streams did not finish within 30 s"),
    }
}
