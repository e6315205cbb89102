//! Runs every shared conformance vector (tests/conformance/vectors) as a client against the
//! Rust conformance server, over every transport.

#![allow(clippy::unwrap_used)]

mod common;

use hms_ffi_core::{connect, CallOptions, Client};

async fn run_all(client: &Client, transport: &str) {
    let cases = common::load_cases();
    assert!(
        cases.len() > 100,
        "expected the full vector set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let opts = CallOptions::with_timeout(case.timeout);
        let outcome = client.call(&case.method, &case.request, &opts).await;
        if let Err(why) = common::check(case, &outcome) {
            failures.push(format!("[{transport}] {}/{}: {why}", case.file, case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{transport}: {} conformance cases passed", cases.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_inproc() {
    let server = common::conformance_server();
    server.listen("inproc://conformance").unwrap();
    let client = connect("inproc://conformance").await.unwrap();
    run_all(&client, "inproc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_unix() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("unix://{}", dir.path().join("conf.sock").display());
    let server = common::conformance_server();
    server.listen(&uri).unwrap();
    let client = connect(&uri).await.unwrap();
    run_all(&client, "unix").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_grpc_tcp() {
    let server = common::conformance_server();
    let uri = server.listen("grpc://127.0.0.1:0").unwrap();
    let client = connect(&uri).await.unwrap();
    run_all(&client, "grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_grpc_unix() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("grpc+unix://{}", dir.path().join("conf.sock").display());
    let server = common::conformance_server();
    server.listen(&uri).unwrap();
    let client = connect(&uri).await.unwrap();
    run_all(&client, "grpc+unix").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_http() {
    let server = common::conformance_server();
    let uri = server.listen("http://127.0.0.1:0").unwrap();
    let client = connect(&uri).await.unwrap();
    run_all(&client, "http").await;
}
