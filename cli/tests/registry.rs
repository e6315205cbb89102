//! `hms-ffi registry` end to end: one registry reached over unix, gRPC, Connect and WebSocket;
//! check's exit codes; concurrent writer processes; a registry killed with SIGKILL while
//! registrations are in flight, restarted on the same database; bad databases at start.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    bin, free_port, json, listed, output_within, registry, registry_serve, shop_schema, text,
    two_registries_race, wait_for_ports, writers, WAIT,
};

#[test]
fn register_fetch_list_deprecate_and_modes_over_every_transport() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sock) = (dir.path().join("r.db"), dir.path().join("r.sock"));
    let (grpc, http, ws) = (free_port(), free_port(), free_port());
    let extra = [
        format!("grpc://127.0.0.1:{grpc}"),
        format!("http://127.0.0.1:{http}"),
        format!("ws://127.0.0.1:{ws}"),
    ];
    let _server = registry_serve(&db, &sock, &extra);
    assert!(wait_for_ports(&[grpc, http, ws]));
    let unix = format!("unix://{}", sock.display());
    let (v1, v2) = (
        shop_schema(dir.path(), "v1", "int32 count = 1;"),
        shop_schema(dir.path(), "v2", "int32 count = 1; string name = 2;"),
    );
    let broken = shop_schema(dir.path(), "broken", "string count = 1; string name = 2;");

    let out = registry(&[
        "register",
        "--registry",
        &unix,
        v1.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reply = json(&out);
    assert_eq!(
        (
            reply["version"]["version"].as_u64(),
            reply["created"].as_bool()
        ),
        (Some(1), Some(true))
    );
    let fp = reply["version"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fp.starts_with("sha256:"));

    // The next version over gRPC, the same content again over Connect: version 1, not created.
    let out = registry(&["register", "--registry", &extra[0], v2.to_str().unwrap()]);
    assert_eq!(
        (
            out.status.code(),
            text(&out.stdout).starts_with("registered shop.v1 v2")
        ),
        (Some(0), true)
    );
    let out = registry(&["register", "--registry", &extra[1], v1.to_str().unwrap()]);
    assert!(
        text(&out.stdout).starts_with("already registered shop.v1 v1"),
        "{}",
        text(&out.stdout)
    );

    // An incompatible schema: exit 1, the rule named, nothing registered.
    let out = registry(&[
        "register",
        "--registry",
        &extra[2],
        broken.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = json(&out)["error"].clone();
    assert_eq!(err["reason"], "INCOMPATIBLE_SCHEMA");
    assert_eq!(
        err["rules"],
        serde_json::json!(["FIELD_WIRE_JSON_COMPATIBLE_TYPE"])
    );
    assert!(err["findings"][0]
        .as_str()
        .unwrap()
        .contains("shop.proto:3:"));

    // Fetch by fingerprint over WebSocket, write the set, list over unix.
    let out_file = dir.path().join("v1.binpb");
    let out = registry(&[
        "get",
        "--registry",
        &extra[2],
        "--fingerprint",
        &fp,
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stdout).starts_with("shop.v1 v1 "),
        "{}",
        text(&out.stderr)
    );
    let set = std::fs::read(&out_file).unwrap();
    let out = registry(&["list", "--registry", &unix, "shop.v1", "--json"]);
    assert_eq!(json(&out)["versions"].as_array().unwrap().len(), 2);

    // A FileDescriptorSet file registers too (under NONE it may break; deprecate, then list).
    let out = registry(&[
        "mode",
        "--registry",
        &unix,
        "shop.v1",
        "NONE",
        "--category",
        "WIRE",
    ]);
    assert_eq!(text(&out.stdout).trim(), "shop.v1 NONE WIRE");
    let out = registry(&["register", "--registry", &unix, broken.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = registry(&[
        "register",
        "--registry",
        &unix,
        "--descriptor-set",
        out_file.to_str().unwrap(),
    ]);
    assert!(text(&out.stdout).starts_with("already registered shop.v1 v1"));
    assert!(!set.is_empty());
    let out = registry(&[
        "deprecate",
        "--registry",
        &unix,
        "shop.v1",
        "1",
        "--reason",
        "int32",
    ]);
    assert!(text(&out.stdout).contains("deprecated: int32"));
    let out = registry(&["list", "--registry", &unix]);
    assert_eq!(text(&out.stdout).trim(), "shop.v1 v3 NONE WIRE");

    // `hms-ffi list` shows the fingerprint a server announces (here the registry's own schema).
    let out = output_within(
        {
            let mut cmd = bin();
            cmd.args(["list", &unix]);
            cmd
        },
        WAIT,
    );
    assert!(text(&out.stdout).contains("hms.ffi.v1.Registry/Register("));
    assert!(
        text(&out.stdout).contains("\nschema sha256:"),
        "{}",
        text(&out.stdout)
    );

    // Bad input: exit 3.
    let out = registry(&["get", "--registry", &unix, "nope.v1"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("NOT_FOUND"));
    let garbage = dir.path().join("garbage.binpb");
    std::fs::write(&garbage, b"\xff\xff\xff").unwrap();
    let out = registry(&[
        "register",
        "--registry",
        &unix,
        "--descriptor-set",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("invalid FileDescriptorSet"));
    let out = registry(&["mode", "--registry", &unix, "shop.v1", "SIDEWAYS"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn concurrent_writers_on_two_registries_sharing_one_database_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    two_registries_race(dir.path(), &["--db".into(), db.into()]);
}

#[test]
fn a_registry_killed_mid_registration_keeps_every_acknowledged_version() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sock) = (dir.path().join("r.db"), dir.path().join("r.sock"));
    let uri = format!("unix://{}", sock.display());
    let mut server = registry_serve(&db, &sock, &[]);
    let out = registry(&["mode", "--registry", &uri, "shop.v1", "NONE"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = writers(dir.path(), std::slice::from_ref(&uri), "a", 4);
    assert_eq!(before.len(), 4);
    // Three writers register one schema after another until the registry dies with SIGKILL
    // (Child::kill sends SIGKILL), which happens once they have had a few acknowledged.
    let acked = Arc::new(AtomicUsize::new(0));
    let loops: Vec<_> = (0..3)
        .map(|w| {
            let (path, uri, acked) = (dir.path().to_path_buf(), uri.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..200 {
                    match writers(&path, std::slice::from_ref(&uri), &format!("w{w}x{i}y"), 1).pop()
                    {
                        Some(v) => mine.push(v),
                        None => break,
                    }
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                mine
            })
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    while acked.load(Ordering::SeqCst) < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let during: Vec<(u64, String)> = loops.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(during.len() >= 6, "{during:?}");
    let _restarted = registry_serve(&db, &sock, &[]);
    let after = listed(&uri);
    for acked in before.iter().chain(during.iter()) {
        assert!(
            after.contains(acked),
            "{acked:?} acknowledged but lost: {after:?}"
        );
    }
    // The database still takes registrations, numbered after what it kept.
    let next = writers(dir.path(), std::slice::from_ref(&uri), "n", 1);
    assert_eq!(next[0].0, after.len() as u64 + 1);
}

#[test]
fn bad_databases_stop_serve_with_exit_3_and_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![0x42; 8192]).unwrap();
    let sock = dir.path().join("r.sock");
    let listen = format!("unix://{}", sock.display());
    for (db, code) in [
        (corrupt, "DATA_LOSS"),
        (dir.path().join("no/folder/r.db"), "NOT_FOUND"),
        (dir.path().to_path_buf(), "PERMISSION_DENIED"),
    ] {
        let out = registry(&["serve", "--db", db.to_str().unwrap(), "--listen", &listen]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with(code), "{}", text(&out.stderr));
    }
}
