//! Every streaming conformance vector (tests/conformance/streams) as a client against the Rust
//! conformance server, over every transport that streams: inproc, unix, shm, ws and grpc.

#![allow(clippy::unwrap_used)]

mod common;

use common::streams::{check_stream, load_stream_cases};
use hms_ffi_core::connect;

async fn run_all(listen: &str) {
    let server = common::conformance_server();
    let uri = server.listen(listen).unwrap();
    let client = connect(&uri).await.unwrap();
    let cases = load_stream_cases();
    assert!(
        cases.len() >= 16,
        "the streaming vectors, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check_stream(&client, case).await {
            failures.push(format!("[{listen}] {}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_inproc() {
    run_all("inproc://stream-vectors").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_unix() {
    let (_dir, uri) = common::unix_uri("streams");
    run_all(&uri).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_ws() {
    run_all("ws://127.0.0.1:0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_grpc() {
    run_all("grpc://127.0.0.1:0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_shm() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("shm://{}", dir.path().join("streams.sock").display());
    tokio::time::timeout(std::time::Duration::from_secs(120), run_all(&uri))
        .await
        .expect("the stream vectors over shm within 120 s");
}
