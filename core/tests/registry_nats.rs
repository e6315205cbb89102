//! The schema registry's NATS key-value store (issue 21) against a nats-server of the test's own
//! with JetStream: the store contract every store keeps (`registry::contract`), two stores on
//! one bucket (as two registry processes on two machines) registering at once without losing
//! or duplicating a version, everything kept across a nats-server restart, and the typed errors
//! of a bad URI, an unreachable server and one without JetStream. Skipped, saying so, only when nats-server is not
//! installed (`make test` installs it).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::nats::NatsServer;
use hms_ffi_core::registry::contract::{self, register, V1};
use hms_ffi_core::registry::messages as pb;
use hms_ffi_core::registry::{NatsKvStore, RegistryService, RegistryStore};
use hms_ffi_core::Code;

fn store(nats: &NatsServer, bucket: &str) -> Arc<dyn RegistryStore> {
    Arc::new(NatsKvStore::open_blocking(&format!("nats://{}/{bucket}", nats.addr())).unwrap())
}

fn reason(e: &hms_ffi_core::Error) -> String {
    e.details()
        .error_info
        .as_ref()
        .map_or(String::new(), |i| i.reason.clone())
}

fn set_none(r: &RegistryService) {
    let req = pb::SetModeRequest {
        subject: "shop.v1".into(),
        mode: "NONE".into(),
        category: String::new(),
    };
    r.set_mode(req).unwrap();
}

fn listed(r: &RegistryService) -> Vec<(u32, String)> {
    let req = pb::ListVersionsRequest {
        subject: "shop.v1".into(),
    };
    let versions = r.list_versions(req).unwrap().versions;
    versions
        .into_iter()
        .map(|v| (v.version, v.fingerprint))
        .collect()
}

#[test]
fn the_nats_store_keeps_the_store_contract() {
    let Some(nats) = NatsServer::start(true) else {
        return;
    };
    let made = AtomicUsize::new(0);
    contract::run_all(&|| {
        store(
            &nats,
            &format!("contract{}", made.fetch_add(1, Ordering::SeqCst)),
        )
    });
}

#[test]
fn two_stores_on_one_bucket_registering_at_once_lose_and_duplicate_nothing() {
    let Some(nats) = NatsServer::start(true) else {
        return;
    };
    // Two connections, as two registry processes: 16 writers alternate between them.
    let (a, b) = (
        RegistryService::new(store(&nats, "shared")),
        RegistryService::new(store(&nats, "shared")),
    );
    set_none(&a);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let r = if i % 2 == 0 { a.clone() } else { b.clone() };
            let body = format!("message Item {{ string f{i} = {}; }}", i + 1);
            std::thread::spawn(move || register(&r, &body))
        })
        .collect();
    let mut numbers: Vec<u32> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .map(|(n, created)| {
            assert!(created);
            n
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=16).collect::<Vec<u32>>());
    let seen_by_a = listed(&a);
    assert_eq!(seen_by_a, listed(&b));
    let mut fingerprints: Vec<_> = seen_by_a.iter().map(|v| v.1.clone()).collect();
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), 16);
}

#[test]
fn a_restarted_nats_server_keeps_every_version_mode_and_deprecation() {
    let Some(mut nats) = NatsServer::start(true) else {
        return;
    };
    let r = RegistryService::new(store(&nats, "kept"));
    register(&r, V1).unwrap();
    register(&r, "message Item { int32 count = 1; string name = 2; }").unwrap();
    let dep = pb::DeprecateRequest {
        subject: "shop.v1".into(),
        version: 1,
        reason: "old".into(),
    };
    r.deprecate(dep).unwrap();
    set_none(&r);
    let before = listed(&r);

    nats.kill();
    // The server is gone: a typed, retryable error within the store's bound, not a hang.
    let err = r
        .get_mode(pb::GetModeRequest {
            subject: "shop.v1".into(),
        })
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unavailable, "REGISTRY_UNREACHABLE")
    );
    nats.restart();

    let r = RegistryService::new(store(&nats, "kept"));
    assert_eq!(listed(&r), before);
    let v1 = r
        .get_version(pb::GetVersionRequest {
            subject: "shop.v1".into(),
            version: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (v1.deprecated, v1.deprecation_reason.as_str()),
        (true, "old")
    );
    assert_eq!(v1.descriptor_set, contract::set(V1));
    let mode = r.get_mode(pb::GetModeRequest {
        subject: "shop.v1".into(),
    });
    assert_eq!(mode.unwrap().mode, "NONE");
    // Numbered after what it kept; the same content again is the existing version.
    assert_eq!(register(&r, "message Item { }").unwrap(), (3, true));
    assert_eq!(register(&r, V1).unwrap(), (1, false));
}

#[test]
fn a_bad_uri_is_invalid_argument_and_no_server_is_unavailable() {
    for uri in [
        "nats://127.0.0.1:4222",
        "nats://127.0.0.1:4222/a.b",
        "unix:///x",
    ] {
        let err = NatsKvStore::open_blocking(uri).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{uri}: {err:?}");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = NatsKvStore::open_blocking(&format!("nats://127.0.0.1:{port}/r")).unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

#[test]
fn a_nats_server_without_jetstream_is_a_typed_error_at_open() {
    let Some(nats) = NatsServer::start(false) else {
        return;
    };
    let err = NatsKvStore::open_blocking(&format!("nats://{}/r", nats.addr())).unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("JetStream"), "{}", err.message());
}
