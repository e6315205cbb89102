//! `hms-ffi registry serve --store nats://host:port/BUCKET` end to end, against a nats-server of
//! the test's own with JetStream (`core/tests/common/nats.rs`): two registry processes on one
//! bucket take concurrent writer processes without losing or duplicating a version, a third
//! registry started after both were killed serves everything, and a nats-server that cannot be
//! reached stops `serve` with exit 3 and `UNAVAILABLE`. Skipped, saying so, only when
//! nats-server is not installed (`make test` installs it).

#![allow(clippy::unwrap_used)]

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../../core/tests/common/nats.rs"]
mod nats;

use std::path::PathBuf;

use common::{free_port, listed, registry, registry_serve_on, text, two_registries_race};
use nats::NatsServer;

/// The repository's root (for the nats-server `scripts/install-nats.sh` installs).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn store(nats: &NatsServer, bucket: &str) -> Vec<std::ffi::OsString> {
    let uri = format!("nats://{}/{bucket}", nats.addr());
    vec!["--store".into(), uri.into()]
}

#[test]
fn two_registries_on_one_bucket_lose_nothing_and_a_third_serves_it_all() {
    let Some(nats) = NatsServer::start(true) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (servers, acked) = two_registries_race(dir.path(), &store(&nats, "REGISTRY"));
    drop(servers);

    let c = dir.path().join("c.sock");
    let _third = registry_serve_on(&store(&nats, "REGISTRY"), &c, &[]);
    let third = format!("unix://{}", c.display());
    assert_eq!(listed(&third), acked);
    let out = registry(&["mode", "--registry", &third, "shop.v1", "--json"]);
    assert!(
        text(&out.stdout).contains("\"NONE\""),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_unreachable_nats_server_stops_serve_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("unix://{}", dir.path().join("r.sock").display());
    let unreachable = format!("nats://127.0.0.1:{}/REGISTRY", free_port());
    for (store, code) in [
        (unreachable.as_str(), "UNAVAILABLE"),
        ("nats://127.0.0.1:4222/a.b", "INVALID_ARGUMENT"),
    ] {
        let out = registry(&["serve", "--store", store, "--listen", &listen]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with(code), "{}", text(&out.stderr));
    }
}
