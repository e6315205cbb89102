//! The SQLite store: what survives a reopen, and the typed error of each bad database.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hms_ffi_core::evolution::Image;
use hms_ffi_core::registry::messages as pb;
use hms_ffi_core::registry::RegistryService;

use super::*;

fn set(body: &str) -> Vec<u8> {
    let text = format!("syntax = \"proto3\";\npackage shop.v1;\nmessage Item {{ {body} }}\n");
    Image::from_sources(&[("shop.proto", &text)])
        .unwrap()
        .to_descriptor_set()
}

fn open(path: &Path) -> Result<RegistryService> {
    let store = SqliteStore::open(path, Duration::from_millis(200))?;
    Ok(RegistryService::new(Arc::new(store)))
}

fn register(r: &RegistryService, body: &str) -> Result<pb::RegisterResponse> {
    r.register(pb::RegisterRequest {
        subject: String::new(),
        descriptor_set: set(body),
    })
}

fn reason(e: &Error) -> &str {
    e.details()
        .error_info
        .as_ref()
        .map_or("", |i| i.reason.as_str())
}

#[test]
fn the_sqlite_store_keeps_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::cell::Cell::new(0);
    hms_ffi_core::registry::contract::run_all(&|| {
        made.set(made.get() + 1);
        let db = dir.path().join(format!("contract{}.db", made.get()));
        Arc::new(SqliteStore::open(&db, Duration::from_secs(5)).unwrap())
    });
}

#[test]
fn versions_modes_and_deprecations_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.db");
    let r = open(&db).unwrap();
    register(&r, "int32 count = 1;").unwrap();
    register(&r, "int32 count = 1; string name = 2;").unwrap();
    let mode = pb::SetModeRequest {
        subject: "shop.v1".into(),
        mode: "FULL_TRANSITIVE".into(),
        category: "WIRE".into(),
    };
    r.set_mode(mode).unwrap();
    let dep = pb::DeprecateRequest {
        subject: "shop.v1".into(),
        version: 1,
        reason: "old".into(),
    };
    r.deprecate(dep).unwrap();
    drop(r);
    let r = open(&db).unwrap();
    let listed = r.list_versions(pb::ListVersionsRequest {
        subject: "shop.v1".into(),
    });
    let versions = listed.unwrap().versions;
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (
            versions[0].deprecated,
            versions[0].deprecation_reason.as_str()
        ),
        (true, "old")
    );
    let got = r.get_mode(pb::GetModeRequest {
        subject: "shop.v1".into(),
    });
    assert_eq!(got.unwrap().mode, "FULL_TRANSITIVE");
    // Same content: the existing version; a type change: refused, naming the rule.
    let again = register(&r, "int32 count = 1; string name = 2;").unwrap();
    assert_eq!((again.version.unwrap().version, again.created), (2, false));
    let err = register(&r, "int32 count = 1; bytes name = 2; bool x = 3;").unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let by_fp = r.get_version(pb::GetVersionRequest {
        fingerprint: versions[1].fingerprint.clone(),
        ..Default::default()
    });
    assert_eq!(
        by_fp.unwrap().descriptor_set,
        set("int32 count = 1; string name = 2;")
    );
}

#[test]
fn two_stores_on_one_file_serialize_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.db");
    let (a, b) = (open(&db).unwrap(), open(&db).unwrap());
    let mode = pb::SetModeRequest {
        subject: "shop.v1".into(),
        mode: "NONE".into(),
        category: String::new(),
    };
    a.set_mode(mode).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let r = if i % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                let reply = register(&r, &format!("string f{i} = {};", i + 1)).unwrap();
                reply.version.unwrap().version
            })
        })
        .collect();
    let mut numbers: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<u32>>());
}

#[test]
fn a_locked_database_is_unavailable_and_retry_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.db");
    let r = open(&db).unwrap();
    let holder = Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = register(&r, "int32 count = 1;").unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::Unavailable, "REGISTRY_LOCKED")
    );
    holder.execute_batch("COMMIT").unwrap();
    assert!(register(&r, "int32 count = 1;").unwrap().created);
}

#[test]
fn corrupt_missing_unreadable_and_newer_databases_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let err = open(&garbage).unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::DataLoss, "REGISTRY_CORRUPT")
    );

    let missing = dir.path().join("no/such/folder/registry.db");
    let err = open(&missing).unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::NotFound, "REGISTRY_DB_MISSING")
    );

    // A folder where the file should be cannot be opened (tests may run as root, for whom
    // file permissions do not stop a read).
    let folder = dir.path().join("folder.db");
    std::fs::create_dir(&folder).unwrap();
    let err = open(&folder).unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::PermissionDenied, "REGISTRY_UNREADABLE")
    );

    let newer = dir.path().join("newer.db");
    drop(open(&newer).unwrap());
    Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = open(&newer).unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::FailedPrecondition, "REGISTRY_DB_VERSION")
    );

    // A row whose mode no hms-ffi wrote is DataLoss when read, not a panic.
    let odd = dir.path().join("odd.db");
    drop(open(&odd).unwrap());
    Connection::open(&odd)
        .unwrap()
        .execute_batch("INSERT INTO subjects VALUES ('shop.v1', 'SIDEWAYS', 'WIRE')")
        .unwrap();
    let err = register(&open(&odd).unwrap(), "int32 count = 1;").unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::DataLoss, "REGISTRY_CORRUPT")
    );
}
