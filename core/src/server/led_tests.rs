//! The hand-over of a `unix://` connection led by threads (`transport/unix_led.rs`): a call
//! whose reading thread is held up right after it let go of the connection still gets every
//! later frame of its own — its request messages and END — from the thread the watchdog hands
//! the reading to. (Here, not in `transport`: it drives the transport with a server and a client.)

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::transport::LED_HOLD_UP as HOLD_UP;
use crate::{connect_blocking, CallOptions, Schema, Server, Value};

const PROTO: &str = r#"syntax = "proto3";
package led.v1;
message Text { string text = 1; }
service Led {
  rpc Up(Text) returns (stream Text);
  rpc Join(stream Text) returns (Text);
}"#;

fn text(s: &str) -> Value {
    Value::Map(vec![(Value::from("text"), Value::from(s))])
}

#[test]
fn a_stream_call_keeps_its_requests_when_its_reading_is_handed_over() {
    if !crate::runtime::server_threads() {
        return; // connections are served by the runtime: there is no hand-over to test
    }
    let server = Server::new(Schema::from_source("led.proto", PROTO).unwrap());
    server
        .server_streaming("led.v1.Led/Up", |req, sink, _| async move {
            sink.send(&req)?;
            sink.send(&req)
        })
        .unwrap();
    server
        .client_streaming("led.v1.Led/Join", |mut requests, _| async move {
            let mut all = String::new();
            while let Some(r) = requests.next().await {
                if let Some(Value::String(s)) = r?.get("text") {
                    all.push_str(s);
                }
            }
            Ok(text(&all))
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("unix://{}", dir.path().join("led.sock").display());
    let bound = server.listen(&uri).unwrap();
    let client = connect_blocking(&bound).unwrap();
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    HOLD_UP.store(true, Ordering::Release);
    let rt = crate::runtime::handle();
    for i in 0..3 {
        let got = rt.block_on(async {
            let mut s = client
                .server_streaming("led.v1.Led/Up", &text(&i.to_string()), &opts)
                .await?;
            let mut got = Vec::new();
            while let Some(v) = s.next().await {
                got.push(v?);
            }
            Ok::<_, crate::Error>(got)
        });
        assert_eq!(got.unwrap(), vec![text(&i.to_string()); 2], "call {i}");
        let joined = rt.block_on(async {
            let mut s = client.open_stream("led.v1.Led/Join", &opts).await?;
            for part in ["a", "b", "c"] {
                s.send(&text(part))?;
            }
            s.close_send();
            let reply = s.next().await;
            reply.unwrap_or_else(|| Err(crate::Error::new(crate::Code::Internal, "no reply")))
        });
        assert_eq!(joined.unwrap(), text("abc"), "call {i}");
    }
    HOLD_UP.store(false, Ordering::Release);
}
