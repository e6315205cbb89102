//! The contract every [`RegistryStore`] keeps, as test bodies over a [`RegistryService`]: the
//! memory store's unit tests, the CLI's SQLite store's and the NATS key-value store's
//! (`core/tests/registry_nats.rs`) run the same cases, each on a fresh store, so a rule of the
//! trait (idempotent registration, modes checked against the versions before, deprecation,
//! fetches, concurrent registrations serialized) is tested once for all of them.
//!
//! Not part of the API: hidden from the docs, and each case panics on a broken rule.

use std::sync::Arc;

use super::messages as pb;
use super::{RegistryService, RegistryStore, INCOMPATIBLE_SCHEMA};
use crate::error::{Code, Result};
use crate::evolution::Image;

/// A case: its name and its body.
pub type Case = (&'static str, fn(&RegistryService));

/// Every case.
pub const CASES: &[Case] = &[
    (
        "registering_the_same_content_again_returns_the_existing_version",
        registering_the_same_content_again_returns_the_existing_version,
    ),
    (
        "backward_refuses_a_type_change_and_names_the_rule",
        backward_refuses_a_type_change_and_names_the_rule,
    ),
    (
        "forward_allows_deletions_but_not_type_changes",
        forward_allows_deletions_but_not_type_changes,
    ),
    (
        "transitive_modes_check_every_earlier_version_except_deprecated_ones",
        transitive_modes_check_every_earlier_version_except_deprecated_ones,
    ),
    (
        "fetch_by_number_latest_and_fingerprint_and_list",
        fetch_by_number_latest_and_fingerprint_and_list,
    ),
    (
        "concurrent_registrations_of_one_subject_serialize_and_none_is_lost",
        concurrent_registrations_of_one_subject_serialize_and_none_is_lost,
    ),
    (
        "concurrent_rivals_under_backward_one_wins_the_others_are_refused",
        concurrent_rivals_under_backward_one_wins_the_others_are_refused,
    ),
];

/// Runs every case, each on a store `fresh` makes; the case's name is printed before it runs.
pub fn run_all(fresh: &dyn Fn() -> Arc<dyn RegistryStore>) {
    for (name, case) in CASES {
        eprintln!("registry store contract: {name}");
        case(&RegistryService::new(fresh()));
    }
}

/// A descriptor set of `shop.v1` with `body` (message definitions) in `shop.proto`.
pub fn set(body: &str) -> Vec<u8> {
    let text = format!("syntax = \"proto3\";\npackage shop.v1;\n{body}\n");
    Image::from_sources(&[("shop.proto", &text)])
        .expect("compiles")
        .to_descriptor_set()
}

/// Registers `body` under `shop.v1`: the version number and whether it was created.
pub fn register(r: &RegistryService, body: &str) -> Result<(u32, bool)> {
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

/// The first version.
pub const V1: &str = "message Item { int32 count = 1; }";
const ADDED: &str = "message Item { int32 count = 1; string name = 2; }";
const RETYPED: &str = "message Item { string count = 1; }";
const DELETED: &str = "message Item { }";

/// Case: registering the same content again returns the existing version.
pub fn registering_the_same_content_again_returns_the_existing_version(r: &RegistryService) {
    assert_eq!(register(r, V1).expect("v1"), (1, true));
    assert_eq!(register(r, ADDED).expect("v2"), (2, true));
    // The same content, with a comment: same fingerprint, same version, nothing new.
    assert_eq!(
        register(r, &format!("// again\n{V1}")).expect("again"),
        (1, false)
    );
    let versions = r.list_versions(pb::ListVersionsRequest {
        subject: "shop.v1".into(),
    });
    assert_eq!(versions.expect("listed").versions.len(), 2);
}

/// Case: backward refuses a type change and names the rule.
pub fn backward_refuses_a_type_change_and_names_the_rule(r: &RegistryService) {
    register(r, V1).expect("v1");
    let err = register(r, RETYPED).expect_err("breaks");
    assert_eq!(rules(&err), "FIELD_WIRE_JSON_COMPATIBLE_TYPE");
    assert!(err.message().contains("shop.proto:3:"), "{}", err.message());
    // Deleting a field without reserving it breaks BACKWARD too.
    let err = register(r, DELETED).expect_err("breaks");
    assert!(rules(&err).contains("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"));
    // NONE lets both through.
    set_mode(r, "NONE", "");
    assert_eq!(register(r, RETYPED).expect("none"), (2, true));
}

/// Case: forward allows deletions but not type changes.
pub fn forward_allows_deletions_but_not_type_changes(r: &RegistryService) {
    set_mode(r, "FORWARD", "WIRE");
    register(r, ADDED).expect("v1");
    assert_eq!(register(r, V1).expect("deleted name"), (2, true));
    let err = register(r, RETYPED).expect_err("string is not int32 on the wire");
    assert_eq!(rules(&err), "FIELD_WIRE_COMPATIBLE_TYPE");
    assert!(err.message().contains("forward"), "{}", err.message());
    // FULL refuses the deletion FORWARD allowed (BACKWARD's half).
    set_mode(r, "FULL", "WIRE");
    let err = register(r, DELETED).expect_err("full");
    assert!(rules(&err).contains("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"));
}

/// Case: transitive modes check every earlier version except deprecated ones.
pub fn transitive_modes_check_every_earlier_version_except_deprecated_ones(r: &RegistryService) {
    set_mode(r, "NONE", "");
    register(r, V1).expect("v1");
    register(r, RETYPED).expect("v2, unchecked");
    let v3 = "message Item { string count = 1; string name = 2; }";
    set_mode(r, "BACKWARD_TRANSITIVE", "");
    let err = register(r, v3).expect_err("breaks v1");
    assert_eq!(
        err.details()
            .error_info
            .as_ref()
            .map(|i| i.metadata["against"].as_str()),
        Some("1,2")
    );
    set_mode(r, "BACKWARD", "");
    assert_eq!(register(r, v3).expect("only v2 is checked"), (3, true));
    let v4 = "message Item { string count = 1; string name = 2; bool sold = 3; }";
    set_mode(r, "FULL_TRANSITIVE", "");
    assert!(register(r, v4).is_err());
    r.deprecate(pb::DeprecateRequest {
        subject: "shop.v1".into(),
        version: 1,
        reason: "int32 count".into(),
    })
    .expect("deprecated");
    assert_eq!(register(r, v4).expect("v1 deprecated"), (4, true));
    let v1 = r.get_version(pb::GetVersionRequest {
        subject: "shop.v1".into(),
        version: 1,
        ..Default::default()
    });
    let v1 = v1.expect("still fetchable");
    assert!(v1.deprecated);
    assert_eq!(v1.deprecation_reason, "int32 count");
}

/// Case: fetch by number latest and fingerprint and list.
pub fn fetch_by_number_latest_and_fingerprint_and_list(r: &RegistryService) {
    register(r, V1).expect("v1");
    register(r, ADDED).expect("v2");
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

/// Registers `Item` with one more field `f<i>` from eight threads at once.
fn race(r: &RegistryService) -> Vec<Result<(u32, bool)>> {
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

/// Case: concurrent registrations of one subject serialize and none is lost.
pub fn concurrent_registrations_of_one_subject_serialize_and_none_is_lost(r: &RegistryService) {
    set_mode(r, "NONE", "");
    register(r, V1).expect("v1");
    let mut numbers: Vec<u32> = race(r)
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

/// Case: concurrent rivals under backward one wins the others are refused.
pub fn concurrent_rivals_under_backward_one_wins_the_others_are_refused(r: &RegistryService) {
    // Each candidate deletes the field every other one adds: whichever registers first makes
    // the seven others incompatible, and each of them learns so with a typed error.
    register(r, V1).expect("v1");
    let results = race(r);
    let won: Vec<_> = results.iter().filter_map(|x| x.as_ref().ok()).collect();
    assert_eq!(won, vec![&(2, true)]);
    for lost in results.iter().filter_map(|x| x.as_ref().err()) {
        assert!(rules(lost).contains("FIELD_NO_DELETE"), "{lost:?}");
    }
}
