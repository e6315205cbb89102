//! The registry's rules over the memory store: the store contract (`contract.rs`), bad input,
//! and the prost messages against the `.proto`.

use std::sync::Arc;

use prost::Message;
use prost_reflect::DynamicMessage;

use super::contract::{set, V1};
use super::messages as pb;
use super::*;
use crate::error::Code;

fn registry() -> RegistryService {
    RegistryService::new(Arc::new(MemoryStore::new()))
}

#[test]
fn the_memory_store_keeps_the_store_contract() {
    contract::run_all(&|| Arc::new(MemoryStore::new()));
}

#[test]
fn bad_input_is_invalid_argument() {
    let r = registry();
    let garbage = r.register(pb::RegisterRequest {
        subject: String::new(),
        descriptor_set: vec![0xff, 0x01],
    });
    assert_eq!(garbage.expect_err("garbage").code(), Code::InvalidArgument);
    let wrong = r.register(pb::RegisterRequest {
        subject: "other.v1".into(),
        descriptor_set: set(V1),
    });
    let wrong = wrong.expect_err("not its package");
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(wrong.field_violations()[0].field, "subject");
    let mode = r.set_mode(pb::SetModeRequest {
        subject: "shop.v1".into(),
        mode: "SIDEWAYS".into(),
        category: String::new(),
    });
    assert_eq!(mode.expect_err("bad mode").code(), Code::InvalidArgument);
    let no_subject = r.get_mode(pb::GetModeRequest {
        subject: String::new(),
    });
    assert_eq!(
        no_subject.expect_err("no subject").code(),
        Code::InvalidArgument
    );
}

#[test]
fn the_prost_messages_match_the_proto() {
    let schema = registry_schema().expect("compiles");
    let v = pb::SchemaVersion {
        subject: "s".into(),
        version: 3,
        fingerprint: "sha256:00".into(),
        descriptor_set: vec![1, 2],
        deprecated: true,
        deprecation_reason: "r".into(),
        created_at: Some(prost_types::Timestamp {
            seconds: 5,
            nanos: 0,
        }),
    };
    let desc = schema.message("hms.ffi.v1.SchemaVersion").expect("message");
    let dynamic = DynamicMessage::decode(desc, v.encode_to_vec().as_slice()).expect("decodes");
    let field = |name: &str| dynamic.get_field_by_name(name).expect(name).into_owned();
    assert_eq!(field("subject").as_str(), Some("s"));
    assert_eq!(field("version").as_u32(), Some(3));
    assert_eq!(field("fingerprint").as_str(), Some("sha256:00"));
    assert_eq!(field("deprecated").as_bool(), Some(true));
    assert_eq!(field("deprecation_reason").as_str(), Some("r"));
    for method in [
        "Register",
        "GetVersion",
        "ListSubjects",
        "ListVersions",
        "Deprecate",
        "GetMode",
        "SetMode",
    ] {
        assert!(
            schema.method(&format!("{SERVICE}/{method}")).is_some(),
            "{method}"
        );
    }
    let req = pb::SetModeRequest {
        subject: "a".into(),
        mode: "b".into(),
        category: "c".into(),
    };
    let desc = schema
        .message("hms.ffi.v1.SetModeRequest")
        .expect("message");
    let dynamic = DynamicMessage::decode(desc, req.encode_to_vec().as_slice()).expect("decodes");
    assert_eq!(
        dynamic
            .get_field_by_name("category")
            .expect("category")
            .as_str(),
        Some("c")
    );
}

#[test]
fn garbage_on_the_wire_is_invalid_argument_and_the_registry_keeps_serving() {
    let rt = crate::runtime::runtime();
    let server = server(Arc::new(MemoryStore::new()), Default::default()).expect("server");
    server.listen("inproc://registry-garbage").expect("listens");
    let client = rt
        .block_on(crate::client::connect("inproc://registry-garbage"))
        .expect("connects");
    let opts = crate::client::CallOptions::with_timeout(std::time::Duration::from_secs(10));
    for method in ["Register", "GetVersion", "Deprecate", "SetMode"] {
        let name = format!("{SERVICE}/{method}");
        let garbage = bytes::Bytes::from_static(b"\x0a\xff\xff\xff\xff");
        let err = rt.block_on(client.call_raw(&name, garbage, &opts));
        assert_eq!(
            err.expect_err(method).code(),
            Code::InvalidArgument,
            "{method}"
        );
    }
    let registry = RegistryClient::new(client);
    let reply = rt
        .block_on(registry.register("", set(V1)))
        .expect("still serving");
    assert!(reply.created);
}
