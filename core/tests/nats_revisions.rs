//! Schema revisions over `nats://` (issue 21, part 4): a method only a revision has gets its
//! subject, derived as every method's (`PREFIX.package.Service.Method`), and a call that
//! chooses the revision — at connect, or with the `hms-schema-revision` entry from a raw NATS
//! peer — reaches the revision's handler; without the entry it is `UNIMPLEMENTED`, and a
//! streaming method only a revision has is refused as every stream on NATS is. Skipped, saying
//! so, only when nats-server is not installed (`make test` installs it).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::nats::NatsServer;
use hms_ffi_core::server::SCHEMA_REVISION_KEY;
use hms_ffi_core::{connect_with, CallOptions, Code, ConnectOptions, Schema, Server, Value};

/// The main schema: `SayHello` only.
const MAIN: &str = r#"syntax = "proto3";
package acme.v1;
message HelloRequest { string full_name = 1; }
message HelloReply { string text = 1; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
"#;

/// The revision: `Shout` and the stream `Watch` besides `SayHello`.
const REV1: &str = r#"syntax = "proto3";
package acme.v1;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
service Greeter {
  rpc SayHello(HelloRequest) returns (HelloReply);
  rpc Shout(HelloRequest) returns (HelloReply);
  rpc Watch(HelloRequest) returns (stream HelloReply);
}
"#;

const SHOUT: &str = "acme.v1.Greeter/Shout";

fn schema(text: &str) -> Schema {
    Schema::from_source("acme/v1/greeter.proto", text).unwrap()
}

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

fn server() -> Server {
    let server = Server::new(schema(MAIN));
    server.add_revision("rev1", schema(REV1)).unwrap();
    let rev1 = server.revision("rev1").unwrap();
    rev1.unary(SHOUT, |req: Value, _ctx| async move {
        let name = req.get("name").and_then(Value::as_str).unwrap_or("");
        let said = format!("v1 {}", name.to_uppercase());
        Ok(Value::message([("message", Value::from(said))]))
    })
    .unwrap();
    rev1.server_streaming("acme.v1.Greeter/Watch", |_req, _sink, _ctx| async move {
        Ok(())
    })
    .unwrap();
    server
}

/// A raw NATS request in JSON on `subject`: the reply's `hms-status` and payload.
async fn raw(nats: &NatsServer, subject: &str, revision: Option<&str>) -> (String, Bytes) {
    let client = async_nats::connect(nats.addr()).await.unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("content-type", "application/json");
    if let Some(r) = revision {
        headers.insert(SCHEMA_REVISION_KEY, r);
    }
    let req = async_nats::Request::new()
        .headers(headers)
        .payload(Bytes::from_static(br#"{"name": "ada"}"#))
        .timeout(Some(Duration::from_secs(10)));
    let reply = client.send_request(subject.to_string(), req).await.unwrap();
    let status = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("hms-status"))
        .map_or(String::new(), |v| v.to_string());
    (status, reply.payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_only_a_revision_has_is_reachable_on_its_subject() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        let server = server();
        let uri = server.listen(&nats.uri("acme")).unwrap();

        // An hms-ffi client that chose the revision at connect.
        let given = ConnectOptions {
            revision: Some("rev1".into()),
            ..Default::default()
        };
        let client = connect_with(&uri, given).await.unwrap();
        let req = Value::message([("name", Value::from("ada"))]);
        let reply = client.call(SHOUT, &req, &opts()).await.unwrap();
        assert_eq!(reply.get("message").and_then(Value::as_str), Some("v1 ADA"));
        // A raw NATS peer: the subject derived as for any method, the revision by the entry.
        let (status, body) = raw(&nats, "acme.acme.v1.Greeter.Shout", Some("rev1")).await;
        assert_eq!(status, "0", "{body:?}");
        assert_eq!(&body[..], br#"{"message":"v1 ADA"}"#);
        let (status, _) = raw(&nats, "acme.acme.v1.Greeter.Shout", None).await;
        assert_eq!(status, (Code::Unimplemented as i32).to_string());
        // The revision's stream: refused as every stream on NATS, typed, not unanswered.
        let (status, _) = raw(&nats, "acme.acme.v1.Greeter.Watch", Some("rev1")).await;
        assert_eq!(status, (Code::Unimplemented as i32).to_string());
        server.shutdown(Duration::from_secs(5)).await;
    })
    .await
    .expect("within 30 s");
}
