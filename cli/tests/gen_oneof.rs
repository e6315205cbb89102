//! The Rust oneof of the generated conformance module (`gen/rust/hms_conformance_v1.rs`, as
//! `hms-ffi gen --lang rust` writes it, checked current by `gen.rs`): `AllTypes.choice` is
//! `Option<all_types::Choice>`, written as the binding's value (every member, the unset ones
//! null) and read back from it, and each case round-trips through a typed server over inproc.
//! Setting two members cannot be written in Rust; the core still rejects a value that does.
//! A message with two oneofs (one named as a Kotlin keyword, one holding the message itself)
//! is typed oneof by oneof in TypeScript, Kotlin and Rust.

// Generated code is left as generated (scripts/gen-typed.sh --check compares it), not rustfmt'd.
#[rustfmt::skip]
#[path = "../../gen/rust/hms_conformance_v1.rs"]
mod hms_conformance_v1;
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hms_conformance_v1::all_types::Choice;
use hms_conformance_v1::{register_conformance, AllTypes, ConformanceClient, ConformanceService};
use hms_conformance_v1::{HmsMessage, Item};
use hms_ffi_core::{CallOptions, Code, Context, Result, Schema, Server, Value};

/// The typed server: Echo gives the request back, its oneof included.
struct Echo;

impl ConformanceService for Echo {
    async fn echo(&self, request: AllTypes, _ctx: Context) -> Result<AllTypes> {
        Ok(request)
    }
}

fn cases() -> Vec<Option<Choice>> {
    let tea = Item {
        name: "tea".into(),
        qty: 2,
        ..Item::default()
    };
    vec![
        Some(Choice::Text("hi".into())),
        Some(Choice::Text(String::new())),
        Some(Choice::Number(0)),
        Some(Choice::Number(-7)),
        Some(Choice::Item(tea)),
        None,
    ]
}

fn serve(uri: &str) -> (Server, ConformanceClient) {
    let proto =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/conformance.proto");
    let server =
        Server::new(Schema::load(&[proto], &[] as &[&str]).expect("the conformance schema"));
    register_conformance(&server, Arc::new(Echo)).expect("register");
    server.listen(uri).expect("listen");
    let rt = hms_ffi_core::runtime::runtime();
    let mut client =
        ConformanceClient::new(rt.block_on(hms_ffi_core::connect(uri)).expect("connect"));
    client.options = CallOptions::with_timeout(Duration::from_secs(10));
    (server, client)
}

#[test]
fn a_oneof_is_written_as_every_member_with_the_unset_ones_null() {
    let members = ["text", "number", "item"];
    for choice in cases() {
        let value = AllTypes {
            choice: choice.clone(),
            ..AllTypes::default()
        }
        .to_value();
        let set: Vec<&str> = members
            .into_iter()
            .filter(|m| !value.get(m).is_none_or(Value::is_null))
            .collect();
        let want: &[&str] = match &choice {
            Some(Choice::Text(_)) => &["text"],
            Some(Choice::Number(_)) => &["number"],
            Some(Choice::Item(_)) => &["item"],
            None => &[],
        };
        assert_eq!(set, want, "{choice:?}");
        assert_eq!(AllTypes::from_value(&value).choice, choice);
    }
}

#[test]
fn every_case_of_a_oneof_round_trips_through_a_typed_server() {
    let (_server, client) = serve("inproc://gen-oneof-rs");
    for choice in cases() {
        let request = AllTypes {
            choice: choice.clone(),
            tags: vec!["x".into()],
            ..AllTypes::default()
        };
        let reply = client.echo_blocking(&request).expect("echo");
        assert_eq!(reply.choice, choice);
        assert_eq!(reply.tags, ["x"]);
    }
}

#[test]
fn a_value_setting_two_members_is_rejected_by_the_core() {
    let (_server, client) = serve("inproc://gen-oneof-two-rs");
    let mut two = AllTypes {
        choice: Some(Choice::Text("hi".into())),
        ..AllTypes::default()
    }
    .to_value();
    if let Value::Map(fields) = &mut two {
        for (k, v) in fields.iter_mut() {
            if *k == Value::String("number".into()) {
                *v = Value::Int(7);
            }
        }
    }
    let path = "hms.conformance.v1.Conformance/Echo";
    let err = client
        .client
        .call_blocking(path, &two, &client.options)
        .expect_err("two members set");
    assert_eq!(err.code(), Code::InvalidArgument, "{}", err.message());
}

/// A message with two oneofs: one named as a Kotlin keyword with a member named as a Kotlin
/// type, one with the message itself as a member.
const TREE: &str = r#"
syntax = "proto3";
package tree.v1;
import "google/protobuf/timestamp.proto";
message Node {
  oneof kind {
    string string = 1;
    Node child = 2;
  }
  oneof when {
    google.protobuf.Timestamp at = 3;
    int64 number = 4;
  }
  string name = 5;
}
service Tree { rpc Echo(Node) returns (Node); }
"#;

/// `hms-ffi gen --lang LANG` of [`TREE`], the file `name` it writes.
fn tree_generated(lang: &str, name: &str) -> String {
    common::generated(TREE, "tree.proto", lang, name)
}

#[test]
fn each_oneof_of_a_message_is_typed_apart() {
    let ts = tree_generated("typescript", "tree_v1_hms.ts");
    for line in [
        "export type Node = {",
        "  | { string: string, child: null }",
        "  | { string: null, child: Node }",
        ") & (",
        "  | { at: Timestamp, number: null }",
        "  | { at?: null, number: bigint | number }",
    ] {
        assert!(ts.contains(line), "no {line:?} in:\n{ts}");
    }
    let kt = tree_generated("kotlin", "tree/v1/TreeV1Hms.kt");
    for line in [
        "    val kind: Kind? = null,",
        "    val `when`: When? = null,",
        "        public data class String(val string: kotlin.String) : Kind",
        "        public data class Child(val child: tree.v1.Node) : Kind",
        "            `when` = (v[\"at\"] as? java.time.Instant)?.let { When.At(it) }",
    ] {
        assert!(kt.contains(line), "no {line:?} in:\n{kt}");
    }
    let rs = tree_generated("rust", "tree_v1.rs");
    for line in [
        "    pub kind: Option<node::Kind>,",
        "    pub when: Option<node::When>,",
        "        Child(Box<super::Node>),",
        "opt(v.get(\"child\")).map(|v| node::Kind::Child(Box::new(HmsMessage::from_value(v))))",
    ] {
        assert!(rs.contains(line), "no {line:?} in:\n{rs}");
    }
}
