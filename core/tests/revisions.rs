//! Two versions side by side (issue 21, part 4): distinct packages in one schema; two
//! revisions of one package, each with its handlers, chosen per call by the
//! `hms-schema-revision` metadata entry or at connect; and a v1 handler serving v2 callers
//! through a bridge checked with the WIRE rules.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hms_ffi_core::server::SCHEMA_REVISION_KEY;
use hms_ffi_core::{
    connect_with, CallOptions, Client, Code, Codec, ConnectOptions, Schema, Server, Value,
};

/// Revision 1 of `acme.v1`.
const REV1: &str = r#"syntax = "proto3";
package acme.v1;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
"#;

/// Revision 2: fields renamed (a WIRE-compatible change, not a WIRE_JSON one) and added.
const REV2: &str = r#"syntax = "proto3";
package acme.v1;
message HelloRequest { string full_name = 1; string locale = 2; }
message HelloReply { string text = 1; int32 length = 2; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
"#;

/// A revision that changes the request field's encoding: no bridge from it.
const REV_BROKEN: &str = r#"syntax = "proto3";
package acme.v1;
message HelloRequest { double name = 1; }
message HelloReply { string message = 1; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
"#;

const METHOD: &str = "acme.v1.Greeter/SayHello";

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

fn schema(text: &str) -> Schema {
    Schema::from_source("acme/v1/greeter.proto", text).unwrap()
}

fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A server whose main schema is revision 2, serving revision 1 beside it; each revision's
/// handler says which it is and what it read.
fn two_revisions(uri: &str) -> Server {
    let server = Server::new(schema(REV2));
    server
        .unary(METHOD, |req: Value, _ctx| async move {
            let said = format!("v2 {} {}", text(&req, "full_name"), text(&req, "locale"));
            Ok(Value::message([("text", Value::from(said))]))
        })
        .unwrap();
    server.add_revision("rev1", schema(REV1)).unwrap();
    v1_handler(&server);
    server.listen(uri).unwrap();
    server
}

fn v1_handler(server: &Server) {
    let rev1 = server.revision("rev1").unwrap();
    rev1.unary(METHOD, |req: Value, _ctx| async move {
        let said = format!("v1 {}", text(&req, "name"));
        Ok(Value::message([("message", Value::from(said))]))
    })
    .unwrap();
}

async fn client(uri: &str, options: ConnectOptions) -> Client {
    connect_with(uri, options).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_packages_are_served_side_by_side() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let v2 = REV1.replace("acme.v1", "acme.v2");
        let both =
            Schema::from_sources(&[("acme/v1/g.proto", REV1), ("acme/v2/g.proto", &v2)]).unwrap();
        let server = Server::new(both);
        for package in ["acme.v1", "acme.v2"] {
            let reply = Value::message([("message", Value::from(package))]);
            server
                .unary(&format!("{package}.Greeter/SayHello"), move |_req, _ctx| {
                    let reply = reply.clone();
                    async move { Ok(reply) }
                })
                .unwrap();
        }
        server.listen("inproc://revisions-packages").unwrap();
        let c = client("inproc://revisions-packages", ConnectOptions::default()).await;
        for package in ["acme.v1", "acme.v2"] {
            let req = Value::message([("name", Value::from("Ada"))]);
            let reply = c
                .call(&format!("{package}.Greeter/SayHello"), &req, &opts())
                .await
                .unwrap();
            assert_eq!(text(&reply, "message"), package);
        }
    })
    .await
    .expect("within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_chooses_its_revision_with_metadata_or_at_connect() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let uri = "inproc://revisions-choose";
        let server = two_revisions(uri);
        let rev1_fp = server.revisions()[0].1.clone();
        assert_eq!(server.revisions()[0].0, "rev1");
        assert_eq!(server.schema_version().revisions, server.revisions());

        // No key: the main schema (revision 2) and its handler.
        let main = client(uri, ConnectOptions::default()).await;
        assert_eq!(main.revision(), None);
        assert_eq!(main.schema_version().unwrap().revisions, server.revisions());
        let req = Value::message([
            ("full_name", Value::from("Ada")),
            ("locale", Value::from("en")),
        ]);
        let reply = main.call(METHOD, &req, &opts()).await.unwrap();
        assert_eq!(text(&reply, "text"), "v2 Ada en");

        // Chosen at connect by label: the client speaks revision 1's schema.
        let by_label = ConnectOptions {
            revision: Some("rev1".into()),
            ..Default::default()
        };
        let v1 = client(uri, by_label).await;
        assert_eq!(v1.revision(), Some(rev1_fp.as_str()));
        let req1 = Value::message([("name", Value::from("Ada"))]);
        let reply = v1.call(METHOD, &req1, &opts()).await.unwrap();
        assert_eq!(text(&reply, "message"), "v1 Ada");

        // Chosen by the schema the client was built against: nothing breaks.
        let expecting = ConnectOptions {
            expect_schema: Some(schema(REV1)),
            ..Default::default()
        };
        let built = client(uri, expecting).await;
        assert_eq!(built.revision(), Some(rev1_fp.as_str()));
        assert!(built.incompatible_methods().is_empty());
        let reply = built.call(METHOD, &req1, &opts()).await.unwrap();
        assert_eq!(text(&reply, "message"), "v1 Ada");

        // Per call, by fingerprint, from a client that was given revision 1's schema.
        let given = ConnectOptions {
            schema: Some(schema(REV1)),
            ..Default::default()
        };
        let plain = client(uri, given).await;
        let mut o = opts();
        o.metadata.insert(SCHEMA_REVISION_KEY, rev1_fp.as_str());
        let reply = plain.call(METHOD, &req1, &o).await.unwrap();
        assert_eq!(text(&reply, "message"), "v1 Ada");
        // ...and the main schema's fingerprint is the main schema.
        let mut o = opts();
        o.metadata
            .insert(SCHEMA_REVISION_KEY, server.schema_version().fingerprint);
        let reply = main.call(METHOD, &req, &o).await.unwrap();
        assert_eq!(text(&reply, "text"), "v2 Ada en");

        // An unknown revision: per call and at connect, FAILED_PRECONDITION naming the known.
        let mut o = opts();
        o.metadata.insert(SCHEMA_REVISION_KEY, "rev9");
        let err = main.call(METHOD, &req, &o).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(
            err.details().error_info.clone().unwrap().reason,
            "UNKNOWN_SCHEMA_REVISION"
        );
        assert!(err.message().contains("rev1 sha256:"), "{}", err.message());
        let unknown = ConnectOptions {
            revision: Some("rev9".into()),
            ..Default::default()
        };
        let err = connect_with(uri, unknown).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("rev1"), "{}", err.message());
    })
    .await
    .expect("within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_are_refused_when_misnamed_or_already_served() {
    let server = Server::new(schema(REV2));
    for label in ["", "two words", "é", "sha256:abc"] {
        let bad = server.add_revision(label, schema(REV1)).unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument, "{label:?}");
    }
    let main = server.add_revision("again", schema(REV2)).unwrap_err();
    assert_eq!(main.code(), Code::AlreadyExists);
    let fp = server.add_revision("rev1", schema(REV1)).unwrap();
    assert!(fp.starts_with("sha256:"));
    for label in ["rev1", "other"] {
        let twice = server.add_revision(label, schema(REV1)).unwrap_err();
        assert_eq!(twice.code(), Code::AlreadyExists, "{label}");
    }
    assert_eq!(server.revision("nope").unwrap_err().code(), Code::NotFound);
    // A revision handle checks registrations against its own schema, and dropping it
    // leaves the server running.
    let rev1 = server.revision(&fp).unwrap();
    let wrong = rev1.unary("acme.v1.Greeter/Nope", |r, _| async move { Ok(r) });
    assert_eq!(wrong.unwrap_err().code(), Code::NotFound);
    drop(rev1);
    assert!(!server.is_stopped());
    // A revision without a handler for the method: UNIMPLEMENTED for its calls.
    server.listen("inproc://revisions-nohandler").unwrap();
    let given = ConnectOptions {
        revision: Some("rev1".into()),
        ..Default::default()
    };
    let c = client("inproc://revisions-nohandler", given).await;
    let err = c
        .call(METHOD, &Value::message::<&str>([]), &opts())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_handler_serves_v2_callers_through_a_bridge() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let uri = "inproc://revisions-bridge";
        let server = Server::new(schema(REV2));
        server.add_revision("rev1", schema(REV1)).unwrap();
        v1_handler(&server);
        // Not yet bridged: the main schema has no handler.
        server.listen(uri).unwrap();
        let c = client(uri, ConnectOptions::default()).await;
        let req = Value::message([
            ("full_name", Value::from("Ada")),
            ("locale", Value::from("en")),
        ]);
        let err = c.call(METHOD, &req, &opts()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented);

        server.bridge("rev1", METHOD).unwrap();
        // Binary protobuf: the renamed field lines up by number, the added one is dropped
        // , the reply's renamed field reads as v2's.
        for codec in [Codec::Proto, Codec::Json] {
            let mut o = opts();
            o.codec = Some(codec);
            let reply = c.call(METHOD, &req, &o).await.unwrap();
            assert_eq!(text(&reply, "text"), "v1 Ada", "{codec:?}");
        }
        let json = c
            .call_json(METHOD, r#"{"fullName": "Bo"}"#, &opts(), false)
            .await
            .unwrap();
        assert_eq!(json, r#"{"text":"v1 Bo"}"#);

        // A revision whose method does not read alike on the wire is refused, with findings.
        let broken = Server::new(schema(REV2));
        broken.add_revision("old", schema(REV_BROKEN)).unwrap();
        let old = broken.revision("old").unwrap();
        old.unary(METHOD, |r, _| async move { Ok(r) }).unwrap();
        let err = broken.bridge("old", METHOD).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let info = err.details().error_info.clone().unwrap();
        assert_eq!(info.reason, "INCOMPATIBLE_SCHEMA");
        assert_eq!(info.metadata["rules"], "FIELD_WIRE_COMPATIBLE_TYPE");
        // No handler in the revision yet: nothing to bridge.
        broken.add_revision("bare", schema(REV1)).unwrap();
        let err = broken.bridge("bare", METHOD).unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented);
    })
    .await
    .expect("within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridged_stream_takes_the_proto_and_json_codecs() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let stream = |text: &str| {
            text.replace(
                "rpc SayHello(HelloRequest) returns (HelloReply);",
                "rpc SayHello(HelloRequest) returns (HelloReply);\n  \
                 rpc Chat(stream HelloRequest) returns (stream HelloReply);",
            )
        };
        let server = Server::new(schema(&stream(REV2)));
        server.add_revision("rev1", schema(&stream(REV1))).unwrap();
        let rev1 = server.revision("rev1").unwrap();
        rev1.bidi_streaming("acme.v1.Greeter/Chat", |mut input, sink, _ctx| async move {
            while let Some(req) = input.next().await {
                let said = format!("v1 {}", text(&req?, "name"));
                sink.send(&Value::message([("message", Value::from(said))]))?;
            }
            Ok(())
        })
        .unwrap();
        server.bridge("rev1", "acme.v1.Greeter/Chat").unwrap();
        server.listen("inproc://revisions-stream").unwrap();
        let c = client("inproc://revisions-stream", ConnectOptions::default()).await;
        // Each codec: the v2 caller's `full_name` reaches the v1 handler as `name`, and its
        // `message` comes back as the caller's `text`, message after message.
        for codec in [Codec::Proto, Codec::Json] {
            let mut o = opts();
            o.codec = Some(codec);
            let mut s = c.open_stream("acme.v1.Greeter/Chat", &o).await.unwrap();
            for name in ["Ada", "Grace"] {
                s.send(&Value::message([("full_name", Value::from(name))]))
                    .unwrap();
                let reply = s.next().await.unwrap().unwrap();
                assert_eq!(text(&reply, "text"), format!("v1 {name}"), "{codec:?}");
            }
            s.close_send();
            assert!(s.next().await.is_none(), "{codec:?}");
        }

        // JSON the caller's types cannot read: INVALID_ARGUMENT naming the field, typed.
        let mut o = opts();
        o.codec = Some(Codec::Json);
        let mut s = c.open_stream("acme.v1.Greeter/Chat", &o).await.unwrap();
        let mut sender = s.take_sender().unwrap();
        sender
            .send_encoded(bytes::Bytes::from_static(br#"{"full_name": 5}"#))
            .unwrap();
        let err = s.next().await.unwrap().unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.to_string().contains("full_name"), "{err}");
    })
    .await
    .expect("within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_method_only_a_revision_has_streams_over_grpc() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let watch = REV1.replace(
            "rpc SayHello(HelloRequest) returns (HelloReply);",
            "rpc SayHello(HelloRequest) returns (HelloReply);\n  \
             rpc Watch(HelloRequest) returns (stream HelloReply);",
        );
        let server = Server::new(schema(REV2));
        server.add_revision("rev1", schema(&watch)).unwrap();
        let rev1 = server.revision("rev1").unwrap();
        rev1.server_streaming("acme.v1.Greeter/Watch", |req, sink, _ctx| async move {
            for i in 0..3 {
                let said = format!("{} {i}", text(&req, "name"));
                sink.send(&Value::message([("message", Value::from(said))]))?;
            }
            Ok(())
        })
        .unwrap();
        let uri = server.listen("grpc://127.0.0.1:0").unwrap();
        let given = ConnectOptions {
            revision: Some("rev1".into()),
            ..Default::default()
        };
        let c = client(&uri, given).await;
        let mut s = c
            .open_stream("acme.v1.Greeter/Watch", &opts())
            .await
            .unwrap();
        s.send(&Value::message([("name", Value::from("Ada"))]))
            .unwrap();
        s.close_send();
        let mut said = Vec::new();
        while let Some(reply) = s.next().await {
            said.push(text(&reply.unwrap(), "message"));
        }
        assert_eq!(said, ["Ada 0", "Ada 1", "Ada 2"]);
    })
    .await
    .expect("within 30 s");
}
