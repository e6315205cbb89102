//! Runs every shared conformance vector (tests/conformance/vectors) as a client against the
//! Rust conformance server, over every transport.

#![allow(clippy::unwrap_used)]

mod common;

use hms_ffi_core::connect;

/// Serves the conformance service on `listen`, connects to the URI it is bound to, runs every case.
async fn serve_and_run(listen: &str, transport: &str) {
    let server = common::conformance_server();
    let uri = server.listen(listen).unwrap();
    let client = connect(&uri).await.unwrap();
    common::run_conformance(&client, transport).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_inproc() {
    serve_and_run("inproc://conformance", "inproc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_unix() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("unix://{}", dir.path().join("conf.sock").display());
    serve_and_run(&uri, "unix").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_grpc_tcp() {
    serve_and_run("grpc://127.0.0.1:0", "grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_grpc_unix() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("grpc+unix://{}", dir.path().join("conf.sock").display());
    serve_and_run(&uri, "grpc+unix").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_http() {
    serve_and_run("http://127.0.0.1:0", "http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_ws() {
    serve_and_run("ws://127.0.0.1:0", "ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_shm() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("shm://{}", dir.path().join("conf.sock").display());
    serve_and_run(&uri, "shm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_over_shm_by_name() {
    let name = format!("conformance-{}", std::process::id());
    serve_and_run(&format!("shm://{name}"), "shm").await;
}
