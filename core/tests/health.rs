//! The standard gRPC health service: every service's status for anyone on an open server; only
//! the overall status (service "") once tokens or a policy restrict discovery, so probes work
//! without credentials and learn nothing about the schema.

#![allow(clippy::unwrap_used)]

mod common;

use common::conformance_schema;
use hms_ffi_core::security::{Policy, Security};
use hms_ffi_core::{runtime, Server, ServerOptions};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const SERVICE: &str = "hms.conformance.v1.Conformance";

/// The status of `service`, or the gRPC code name of the refusal.
fn check(uri: &str, service: &str) -> Result<ServingStatus, tonic::Code> {
    let endpoint = uri.replace("grpc://", "http://");
    let service = service.to_string();
    runtime::block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(endpoint)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = HealthClient::new(channel);
        // The reporter sets statuses right after the server starts: give it a moment.
        let mut last = Err(tonic::Code::Unknown);
        for _ in 0..50 {
            last = client
                .check(HealthCheckRequest {
                    service: service.clone(),
                })
                .await
                .map(|r| r.into_inner().status())
                .map_err(|s| s.code());
            if last == Ok(ServingStatus::Serving) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        last
    })
    .unwrap()
}

#[test]
fn an_open_server_reports_every_service() {
    let server = Server::new(conformance_schema());
    let uri = server.listen("grpc://127.0.0.1:0").unwrap();
    assert_eq!(check(&uri, ""), Ok(ServingStatus::Serving));
    assert_eq!(check(&uri, SERVICE), Ok(ServingStatus::Serving));
    assert_eq!(check(&uri, "no.such.Service"), Err(tonic::Code::NotFound));
}

#[test]
fn a_restricted_server_reports_only_its_overall_status() {
    let policy = Policy::default().allow(&["alice"], &[&format!("{SERVICE}/*")]);
    let options = ServerOptions::default().with_security(Security::new().with_policy(policy));
    let server = Server::with_options(conformance_schema(), options);
    let uri = server.listen("grpc://127.0.0.1:0").unwrap();
    assert_eq!(check(&uri, ""), Ok(ServingStatus::Serving));
    assert_eq!(check(&uri, SERVICE), Err(tonic::Code::NotFound));
}
