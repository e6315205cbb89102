//! Schema loading: files with includes and well-known types, source text, descriptor sets,
//! method listing, and errors with file, line and column.

#![allow(clippy::unwrap_used)]

mod common;

use hms_ffi_core::{Code, Schema, StreamingKind};

#[test]
fn loads_files_with_imports_from_include_dirs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shared/v1")).unwrap();
    std::fs::write(
        dir.path().join("shared/v1/money.proto"),
        "syntax = \"proto3\"; package shared.v1; message Money { string currency = 1; int64 units = 2; }",
    )
    .unwrap();
    let svc = dir.path().join("billing.proto");
    std::fs::write(
        &svc,
        r#"syntax = "proto3"; package billing.v1;
        import "shared/v1/money.proto"; import "google/protobuf/timestamp.proto";
        message Invoice { shared.v1.Money total = 1; google.protobuf.Timestamp due = 2; }
        service Invoices {
          rpc Get(Invoice) returns (Invoice);
          rpc Watch(Invoice) returns (stream Invoice);
          rpc Upload(stream Invoice) returns (Invoice);
          rpc Sync(stream Invoice) returns (stream Invoice);
        }"#,
    )
    .unwrap();
    let schema = Schema::load(&[&svc], &[dir.path()]).unwrap();
    assert_eq!(schema.services(), vec!["billing.v1.Invoices".to_string()]);
    let kinds: Vec<(String, StreamingKind)> = schema
        .methods()
        .iter()
        .map(|m| (m.name.clone(), m.kind()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("billing.v1.Invoices/Get".to_string(), StreamingKind::Unary),
            ("billing.v1.Invoices/Sync".to_string(), StreamingKind::Bidi),
            (
                "billing.v1.Invoices/Upload".to_string(),
                StreamingKind::ClientStreaming
            ),
            (
                "billing.v1.Invoices/Watch".to_string(),
                StreamingKind::ServerStreaming
            ),
        ]
    );
    let get = schema.method("billing.v1.Invoices/Get").unwrap();
    assert_eq!(get.input().full_name(), "billing.v1.Invoice");
    assert_eq!(
        (get.service(), get.method()),
        ("billing.v1.Invoices", "Get")
    );
    let watch = schema.method("billing.v1.Invoices/Watch").unwrap();
    assert_eq!(
        watch.row(),
        (
            "billing.v1.Invoices/Watch".to_string(),
            "billing.v1.Invoice".to_string(),
            "billing.v1.Invoice".to_string(),
            "server_streaming"
        )
    );
    assert!(schema.method("/billing.v1.Invoices/Get").is_some());
    assert!(schema.method("billing.v1.Invoices.Get").is_some());
    assert!(schema.message("shared.v1.Money").is_some());
}

#[test]
fn descriptor_set_round_trip() {
    let schema = common::conformance_schema();
    let again = Schema::from_descriptor_set(&schema.to_descriptor_set()).unwrap();
    assert_eq!(again.method_names(), schema.method_names());
    let err = Schema::from_descriptor_set(b"\xff\xff not a descriptor").unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let err = Schema::from_source(
        "broken.proto",
        "syntax = \"proto3\";\npackage x;\nmessage A {\n  string name = ;\n}\n",
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("broken.proto:4:"),
        "{}",
        err.message()
    );
    let info = err.details().error_info.as_ref().unwrap();
    assert_eq!(info.reason, "SCHEMA_INVALID");
    assert_eq!(info.metadata.get("line").map(String::as_str), Some("4"));
    assert!(info.metadata.contains_key("column"));

    let err = Schema::from_source(
        "types.proto",
        "syntax = \"proto3\";\nmessage A {\n  Missing m = 1;\n}\n",
    )
    .unwrap_err();
    assert!(
        err.message().starts_with("types.proto:3:"),
        "{}",
        err.message()
    );
}

#[test]
fn missing_files_and_imports_are_not_found() {
    let err = Schema::load(&["/nonexistent/x.proto"], &[] as &[&str]).unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = Schema::from_source("a.proto", "syntax = \"proto3\"; import \"nope/b.proto\";")
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    assert!(err.message().contains("nope/b.proto"));
}
