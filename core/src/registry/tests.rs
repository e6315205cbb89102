//! The registry's rules over the memory store: idempotent registration, every mode, deprecation,
//! fetches, bad input, concurrent registrations, and the prost messages against the `.proto`.

use std::sync::Arc;

use prost::Message;
use prost_reflect::DynamicMessage;

use super::messages as pb;
use super::*;
use crate::error::Code;
use crate::evolution::Image;

fn set(body: &str) -> Vec<u8> {
    let text = format!("syntax = \"proto3\";\npackage shop.v1;\n{body}\n");
    Image::from_sources(&[("shop.proto", &text)])
        .expect("compiles")
        .to_descriptor_set()
}

fn registry() -> RegistryService {
    RegistryService::new(Arc::new(MemoryStore::new()))
}

fn register(r: &RegistryService, body: &str) -> crate::Result<(u32, bool)> {
    let reply = r.register(pb::RegisterRequest {
        subject: String::new(),
        descriptor_set: set(body),
    })?;
    Ok((reply.version.map_or(0, |v| v.version), reply.created))
}

fn set_mode(r: &RegistryService, mode: &str, category: &str) {
    let req = pb::SetModeRequest {
        subject: "shop.v1".into(),
        mode: mode.into(),
        category: category.into(),
    };
    r.set_mode(req).expect("mode set");
}

fn rules(err: &crate::Error) -> String {
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let info = err.details().error_info.as_ref().expect("error info");
    assert_eq!(info.reason, INCOMPATIBLE_SCHEMA);
    info.metadata["rules"].clone()
}

const V1: &str = "message Item { int32 count = 1; }";
const ADDED: &str = "message Item { int32 count = 1; string name = 2; }";
const RETYPED: &str = "message Item { string count = 1; }";
const DELETED: &str = "message Item { }";

#[test]
fn registering_the_same_content_again_returns_the_existing_version() {
    let r = registry();
    assert_eq!(register(&r, V1).expect("v1"), (1, true));
    assert_eq!(register(&r, ADDED).expect("v2"), (2, true));
    // The same content, with a comment: same fingerprint, same version, nothing new.
    assert_eq!(
        register(&r, &format!("// again\n{V1}")).expect("again"),
        (1, false)
    );
    let versions = r.list_versions(pb::ListVersionsRequest {
        subject: "shop.v1".into(),
    });
    assert_eq!(versions.expect("listed").versions.len(), 2);
}

#[test]
fn backward_refuses_a_type_change_and_names_the_rule() {
    let r = registry();
    register(&r, V1).expect("v1");
    let err = register(&r, RETYPED).expect_err("breaks");
    assert_eq!(rules(&err), "FIELD_WIRE_JSON_COMPATIBLE_TYPE");
    assert!(err.message().contains("shop.proto:3:"), "{}", err.message());
    // Deleting a field without reserving it breaks BACKWARD too.
    let err = register(&r, DELETED).expect_err("breaks");
    assert!(rules(&err).contains("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"));
    // NONE lets both through.
    set_mode(&r, "NONE", "");
    assert_eq!(register(&r, RETYPED).expect("none"), (2, true));
}

#[test]
fn forward_allows_deletions_but_not_type_changes() {
    let r = registry();
    set_mode(&r, "FORWARD", "WIRE");
    register(&r, ADDED).expect("v1");
    assert_eq!(register(&r, V1).expect("deleted name"), (2, true));
    let err = register(&r, RETYPED).expect_err("string is not int32 on the wire");
    assert_eq!(rules(&err), "FIELD_WIRE_COMPATIBLE_TYPE");
    assert!(err.message().contains("forward"), "{}", err.message());
    // FULL refuses the deletion FORWARD allowed (BACKWARD's half).
    set_mode(&r, "FULL", "WIRE");
    let err = register(&r, DELETED).expect_err("full");
    assert!(rules(&err).contains("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"));
}

#[test]
fn transitive_modes_check_every_earlier_version_except_deprecated_ones() {
    let r = registry();
    set_mode(&r, "NONE", "");
    register(&r, V1).expect("v1");
    register(&r, RETYPED).expect("v2, unchecked");
    let v3 = "message Item { string count = 1; string name = 2; }";
    set_mode(&r, "BACKWARD_TRANSITIVE", "");
    let err = register(&r, v3).expect_err("breaks v1");
    assert_eq!(
        err.details()
            .error_info
            .as_ref()
            .map(|i| i.metadata["against"].as_str()),
        Some("1,2")
    );
    set_mode(&r, "BACKWARD", "");
    assert_eq!(register(&r, v3).expect("only v2 is checked"), (3, true));
    let v4 = "message Item { string count = 1; string name = 2; bool sold = 3; }";
    set_mode(&r, "FULL_TRANSITIVE", "");
    assert!(register(&r, v4).is_err());
    r.deprecate(pb::DeprecateRequest {
        subject: "shop.v1".into(),
        version: 1,
        reason: "int32 count".into(),
    })
    .expect("deprecated");
    assert_eq!(register(&r, v4).expect("v1 deprecated"), (4, true));
    let v1 = r.get_version(pb::GetVersionRequest {
        subject: "shop.v1".into(),
        version: 1,
        ..Default::default()
    });
    let v1 = v1.expect("still fetchable");
    assert!(v1.deprecated);
    assert_eq!(v1.deprecation_reason, "int32 count");
}

#[test]
fn fetch_by_number_latest_and_fingerprint_and_list() {
    let r = registry();
    register(&r, V1).expect("v1");
    register(&r, ADDED).expect("v2");
    let latest = r.get_version(pb::GetVersionRequest {
        subject: "shop.v1".into(),
        ..Default::default()
    });
    let latest = latest.expect("latest");
    assert_eq!(latest.version, 2);
    assert_eq!(latest.descriptor_set, set(ADDED));
    let by_fp = r.get_version(pb::GetVersionRequest {
        fingerprint: latest.fingerprint.clone(),
        ..Default::default()
    });
    assert_eq!(by_fp.expect("by fingerprint").version, 2);
    let subjects = r.list_subjects().expect("listed").subjects;
    assert_eq!(subjects.len(), 1);
    assert_eq!(
        (subjects[0].latest_version, subjects[0].mode.as_str()),
        (2, "BACKWARD")
    );
    let missing = r.get_version(pb::GetVersionRequest {
        subject: "shop.v1".into(),
        version: 9,
        ..Default::default()
    });
    assert_eq!(missing.expect_err("no v9").code(), Code::NotFound);
    let missing = r.list_versions(pb::ListVersionsRequest {
        subject: "nope.v1".into(),
    });
    assert_eq!(missing.expect_err("no subject").code(), Code::NotFound);
    let gone = r.deprecate(pb::DeprecateRequest {
        subject: "shop.v1".into(),
        version: 7,
        reason: String::new(),
    });
    assert_eq!(gone.expect_err("no v7").code(), Code::NotFound);
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

/// Registers `Item` with one more field `f<i>` from eight threads at once.
fn race(r: &RegistryService) -> Vec<crate::Result<(u32, bool)>> {
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            let body = format!(
                "message Item {{ int32 count = 1; string f{i} = {}; }}",
                i + 2
            );
            std::thread::spawn(move || register(&r, &body))
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect()
}

#[test]
fn concurrent_registrations_of_one_subject_serialize_and_none_is_lost() {
    let r = registry();
    set_mode(&r, "NONE", "");
    register(&r, V1).expect("v1");
    let mut numbers: Vec<u32> = race(&r)
        .into_iter()
        .map(|x| x.expect("unchecked").0)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (2..=9).collect::<Vec<u32>>());
    let listed = r.list_versions(pb::ListVersionsRequest {
        subject: "shop.v1".into(),
    });
    assert_eq!(listed.expect("listed").versions.len(), 9);
}

#[test]
fn concurrent_rivals_under_backward_one_wins_the_others_are_refused() {
    // Each candidate deletes the field every other one adds: whichever registers first makes
    // the seven others incompatible, and each of them learns so with a typed error.
    let r = registry();
    register(&r, V1).expect("v1");
    let results = race(&r);
    let won: Vec<_> = results.iter().filter_map(|x| x.as_ref().ok()).collect();
    assert_eq!(won, vec![&(2, true)]);
    for lost in results.iter().filter_map(|x| x.as_ref().err()) {
        assert!(rules(lost).contains("FIELD_NO_DELETE"), "{lost:?}");
    }
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
