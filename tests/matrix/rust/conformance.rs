//! The Rust side of the cross-language matrix (tests/matrix/run.py):
//!
//! ```text
//! conformance serve unix:///tmp/x.sock    # the conformance service, until SIGTERM/Ctrl-C
//! conformance client unix:///tmp/x.sock   # every vector and semantics case as a client, and
//!                                         # the streaming ones when the server streams
//! conformance streams grpc://127.0.0.1:P  # every streaming vector, with the conformance schema
//!                                         # given (no discovery needed)
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../../core/tests/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use hms_ffi_core::{connect, connect_with, CallOptions, ConnectOptions};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(uri)) = (args.first(), args.get(1)) else {
        eprintln!("usage: conformance serve|client URI");
        return ExitCode::from(2);
    };
    match mode.as_str() {
        "serve" => {
            let server = common::conformance_server();
            server.listen(uri).unwrap();
            println!("ready");
            server
                .serve_until_signal(Duration::from_secs(1))
                .await
                .unwrap();
            ExitCode::SUCCESS
        }
        "client" => {
            let client = connect(uri).await.unwrap();
            let (mut passed, mut failed) = (0, 0);
            for case in common::load_cases() {
                let outcome = client
                    .call(
                        &case.method,
                        &case.request,
                        &CallOptions::with_timeout(case.timeout),
                    )
                    .await;
                match common::check(&case, &outcome) {
                    Ok(()) => passed += 1,
                    Err(why) => {
                        failed += 1;
                        println!("FAIL {}/{}: {why}", case.file, case.name);
                    }
                }
            }
            let skips = common::semantics::skips("rust", "client");
            let mut skipped = 0;
            for case in common::semantics::load_semantic_cases() {
                if let Some(reason) = skips.get(&case.name) {
                    skipped += 1;
                    println!("SKIP semantics/{}: {reason}", case.name);
                    continue;
                }
                match common::semantics::run_semantic(&case, &client).await {
                    Ok(()) => passed += 1,
                    Err(why) => {
                        failed += 1;
                        println!("FAIL semantics/{}: {why}", case.name);
                    }
                }
            }
            let streams = common::streams::load_stream_cases();
            if !common::streams::server_streams(&client).await {
                skipped += streams.len();
                println!(
                    "SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); {} cases",
                    streams.len()
                );
            } else {
                for case in &streams {
                    match common::streams::check_stream(&client, case).await {
                        Ok(()) => passed += 1,
                        Err(why) => {
                            failed += 1;
                            println!("FAIL streams/{}: {why}", case.name);
                        }
                    }
                }
            }
            println!("{passed} passed, {failed} failed, {skipped} skipped");
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        "streams" => {
            let options = ConnectOptions {
                schema: Some(common::conformance_schema()),
                ..Default::default()
            };
            let client = connect_with(uri, options).await.unwrap();
            let mut failed = 0;
            let streams = common::streams::load_stream_cases();
            for case in &streams {
                if let Err(why) = common::streams::check_stream(&client, case).await {
                    failed += 1;
                    println!("FAIL streams/{}: {why}", case.name);
                }
            }
            println!("{} passed, {failed} failed", streams.len() - failed);
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            ExitCode::from(2)
        }
    }
}
