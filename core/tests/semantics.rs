//! Every call-semantics case (tests/conformance/semantics), Rust client against the Rust
//! conformance server, on every transport; and the skip list every language keeps is honest.

#![allow(clippy::unwrap_used)]

mod common;

use common::semantics::{load_semantic_cases, run_semantic, skips};
use common::{all_endpoints, conformance_server};
use hms_ffi_core::connect;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_semantics_case_passes_on_every_transport() {
    let server = conformance_server();
    let cases = load_semantic_cases();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let (client_skips, server_skips) = (skips("rust", "client"), skips("rust", "server"));
    let mut failures = Vec::new();
    for (uri, _dir) in all_endpoints("semantics") {
        let bound = server.listen(&uri).unwrap();
        let client = connect(&bound).await.unwrap();
        for case in &cases {
            if client_skips.contains_key(&case.name) || server_skips.contains_key(&case.name) {
                continue;
            }
            if let Err(why) = run_semantic(case, &client).await {
                failures.push(format!("{bound} {}: {why}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_skip_names_a_case_and_gives_a_reason() {
    let names: Vec<String> = load_semantic_cases().into_iter().map(|c| c.name).collect();
    for lang in ["rust", "python", "node", "go", "ruby", "php", "kotlin"] {
        for role in ["client", "server"] {
            for (case, reason) in skips(lang, role) {
                assert!(
                    names.contains(&case),
                    "{lang} {role} skips unknown case {case}"
                );
                assert!(
                    !reason.trim().is_empty(),
                    "{lang} {role} skips {case} without a reason"
                );
            }
        }
    }
}
