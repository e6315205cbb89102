//! Versions at connect (issue 21, part 3): a server announces its schema's fingerprint and
//! registry version in discovery; a client built against an older revision learns at connect
//! which of its methods the server's schema breaks, calls to those fail early with
//! FAILED_PRECONDITION naming the rules, and compatible evolutions just work.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hms_ffi_core::evolution::Image;
use hms_ffi_core::registry::{self, MemoryStore, RegistryClient};
use hms_ffi_core::{connect_with, CallOptions, Code, ConnectOptions, Schema, Server, Value};

const V1: &str = r#"syntax = "proto3";
package shop.v1;
message Item { int32 count = 1; }
message GetRequest { string id = 1; }
message ListRequest {}
message ListReply { repeated Item items = 1; }
service Shop {
  rpc Get(GetRequest) returns (Item);
  rpc List(ListRequest) returns (ListReply);
}
"#;

/// Get's request id becomes an int64 (a break under WIRE_JSON); Item gains a field and a
/// method is added (compatible).
const V2: &str = r#"syntax = "proto3";
package shop.v1;
message Item { int32 count = 1; string name = 2; }
message GetRequest { int64 id = 1; }
message ListRequest {}
message ListReply { repeated Item items = 1; }
service Shop {
  rpc Get(GetRequest) returns (Item);
  rpc List(ListRequest) returns (ListReply);
  rpc Count(ListRequest) returns (Item);
}
"#;

fn opts() -> CallOptions {
    CallOptions::with_timeout(Duration::from_secs(10))
}

/// A v2 server on `uri` counting the calls its handlers see.
fn v2_server(uri: &str, calls: &Arc<AtomicUsize>) -> Server {
    let server = Server::new(Schema::from_source("shop.proto", V2).unwrap());
    for method in ["Get", "List", "Count"] {
        let calls = calls.clone();
        let item = Value::message([("count", Value::from(3))]);
        let reply = match method {
            "List" => Value::message([("items", Value::list([item]))]),
            _ => item,
        };
        server
            .unary(&format!("shop.v1.Shop/{method}"), move |_req, _ctx| {
                calls.fetch_add(1, Ordering::SeqCst);
                let reply = reply.clone();
                async move { Ok(reply) }
            })
            .unwrap();
    }
    server.listen(uri).unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_learns_at_connect_which_methods_break() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let dir = tempfile::tempdir().unwrap();
        let uri = format!("unix://{}/v2.sock", dir.path().display());
        let calls = Arc::new(AtomicUsize::new(0));
        let server = v2_server(&uri, &calls);
        server.set_schema_version("shop.v1", 2);

        let options = ConnectOptions {
            expect_schema: Some(Schema::from_source("shop.proto", V1).unwrap()),
            ..Default::default()
        };
        let client = connect_with(&uri, options).await.unwrap();
        let announced = client.schema_version().unwrap();
        assert_eq!(announced, &server.schema_version());
        assert_eq!(
            (announced.subject.as_str(), announced.version),
            ("shop.v1", 2)
        );
        // The fingerprint is the one the registry computes for the same files.
        let image = Image::from_sources(&[("shop.proto", V2)]).unwrap();
        assert_eq!(announced.fingerprint, image.fingerprint());

        let broken: Vec<&String> = client.incompatible_methods().keys().collect();
        assert_eq!(broken, vec!["shop.v1.Shop/Get"]);
        let req = Value::message([("id", Value::from("7"))]);
        let err = client
            .call("shop.v1.Shop/Get", &req, &opts())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let info = err.details().error_info.clone().unwrap();
        assert_eq!(info.reason, "INCOMPATIBLE_SCHEMA");
        assert_eq!(info.metadata["rules"], "FIELD_WIRE_JSON_COMPATIBLE_TYPE");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "the refused call never reached the server"
        );

        // A compatible evolution (Item gained a field, a method was added) just works.
        let reply = client
            .call("shop.v1.Shop/List", &Value::message::<&str>([]), &opts())
            .await;
        assert!(reply.is_ok(), "{reply:?}");
        let reply = client
            .call("shop.v1.Shop/Count", &Value::message::<&str>([]), &opts())
            .await;
        assert_eq!(reply.unwrap().get("count"), Some(&Value::Int(3)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Without an expected schema nothing is refused; the same schema breaks nothing.
        let plain = connect_with(&uri, ConnectOptions::default()).await.unwrap();
        assert!(plain.incompatible_methods().is_empty());
        let same = ConnectOptions {
            expect_schema: Some(Schema::from_source("shop.proto", V2).unwrap()),
            ..Default::default()
        };
        assert!(connect_with(&uri, same)
            .await
            .unwrap()
            .incompatible_methods()
            .is_empty());
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .expect("within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_announces_the_version_the_registry_gave_its_schema() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let registry = registry::server(Arc::new(MemoryStore::new()), Default::default()).unwrap();
        registry.listen("inproc://versions-registry").unwrap();
        let client = RegistryClient::connect("inproc://versions-registry")
            .await
            .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let server = v2_server("inproc://versions-v2", &calls);
        let reply = client
            .register("", server.schema().to_descriptor_set())
            .await
            .unwrap();
        let version = reply.version.unwrap();
        assert_eq!(version.fingerprint, server.schema_version().fingerprint);
        server.set_schema_version(&version.subject, version.version);
        let found = client
            .get_by_fingerprint(&server.schema_version().fingerprint)
            .await;
        assert_eq!(found.unwrap().version, 1);
        server.shutdown(Duration::from_secs(1)).await;
        registry.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .expect("within 30 s");
}
