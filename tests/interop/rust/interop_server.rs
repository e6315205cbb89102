//! grpc-go's interop service, `grpc.testing.TestService`, as an hms-ffi server: the peer the stock
//! grpc-go interop client (`google.golang.org/grpc/interop/client`) runs its test cases against.
//!
//! ```text
//! interop_server DESCRIPTORS.binpb grpc://127.0.0.1:PORT   # prints "ready", serves until SIGTERM
//! ```
//!
//! The schema is the `FileDescriptorSet` of the interop protos written by
//! `tests/interop/go/dumpdesc`, loaded at runtime like any schema.
#![allow(missing_docs)]

use std::process::ExitCode;
use std::time::Duration;

use hms_ffi_core::{Code, Context, Error, ResponseSink, Result, Schema, Server, Value};

const SERVICE: &str = "grpc.testing.TestService";

fn method(name: &str) -> String {
    format!("{SERVICE}/{name}")
}

/// `{"payload": {"body": <size zero bytes>}}`, the reply every sized call sends.
fn payload(size: i64) -> Value {
    let body = Value::Bytes(vec![0; usize::try_from(size).unwrap_or(0)]);
    Value::message([("payload", Value::message([("body", body)]))])
}

/// The error a request asks for with `response_status`, if any.
fn requested_status(req: &Value) -> Result<()> {
    let Some(status) = req.get("response_status") else {
        return Ok(());
    };
    let code = status.get("code").and_then(Value::as_i64).unwrap_or(0);
    if code == 0 {
        return Ok(());
    }
    let message = status.get("message").and_then(Value::as_str).unwrap_or("");
    Err(Error::new(
        Code::from_i32(i32::try_from(code).unwrap_or(2)),
        message,
    ))
}

/// The `(size, interval)` of each `response_parameters` entry.
fn response_parameters(req: &Value) -> Vec<(i64, Duration)> {
    let Some(Value::List(params)) = req.get("response_parameters") else {
        return Vec::new();
    };
    params
        .iter()
        .map(|p| {
            let size = p.get("size").and_then(Value::as_i64).unwrap_or(0);
            let us = p.get("interval_us").and_then(Value::as_i64).unwrap_or(0);
            (size, Duration::from_micros(u64::try_from(us).unwrap_or(0)))
        })
        .collect()
}

/// The status a request asks for, or one reply per `response_parameters` entry after its
/// interval.
async fn reply_as_asked(req: &Value, sink: &ResponseSink) -> Result<()> {
    requested_status(req)?;
    for (size, interval) in response_parameters(req) {
        tokio::time::sleep(interval).await;
        sink.send(&payload(size))?;
    }
    Ok(())
}

/// What `custom_metadata` checks: `x-grpc-test-echo-initial` comes back as a response header,
/// `x-grpc-test-echo-trailing-bin` as a trailer.
fn echo_metadata(ctx: &Context) -> Result<()> {
    if let Some(v) = ctx.metadata().get("x-grpc-test-echo-initial") {
        ctx.set_header("x-grpc-test-echo-initial", v)?;
    }
    if let Some(v) = ctx.metadata().get_bin("x-grpc-test-echo-trailing-bin") {
        ctx.set_trailer_bin("x-grpc-test-echo-trailing-bin", &v)?;
    }
    Ok(())
}

fn body_len(req: &Value) -> i64 {
    match req.get("payload").and_then(|p| p.get("body")) {
        Some(Value::Bytes(b)) => i64::try_from(b.len()).unwrap_or(i64::MAX),
        _ => 0,
    }
}

fn test_service(schema: Schema) -> Result<Server> {
    let server = Server::new(schema);
    server.unary(&method("EmptyCall"), |_req, _| async move {
        Ok(Value::message(Vec::<(String, Value)>::new()))
    })?;
    server.unary(&method("UnaryCall"), |req, ctx| async move {
        echo_metadata(&ctx)?;
        requested_status(&req)?;
        let size = req
            .get("response_size")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        Ok(payload(size))
    })?;
    server.server_streaming(&method("StreamingOutputCall"), |req, sink, _| async move {
        reply_as_asked(&req, &sink).await
    })?;
    server.client_streaming(&method("StreamingInputCall"), |mut input, _| async move {
        let mut total = 0i64;
        while let Some(req) = input.next().await {
            total += body_len(&req?);
        }
        Ok(Value::message([(
            "aggregated_payload_size",
            Value::Int(total),
        )]))
    })?;
    server.bidi_streaming(
        &method("FullDuplexCall"),
        |mut input, sink, ctx| async move {
            echo_metadata(&ctx)?;
            while let Some(req) = input.next().await {
                reply_as_asked(&req?, &sink).await?;
            }
            Ok(())
        },
    )?;
    Ok(server)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [descriptors, uri] = args.as_slice() else {
        eprintln!("usage: interop_server DESCRIPTORS.binpb URI");
        return ExitCode::from(2);
    };
    let started = std::fs::read(descriptors)
        .map_err(|e| Error::new(Code::NotFound, format!("{descriptors}: {e}")))
        .and_then(|bytes| Schema::from_descriptor_set(&bytes))
        .and_then(test_service)
        .and_then(|server| server.listen(uri).map(|_| server));
    let server = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("interop_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("ready");
    match server.serve_until_signal(Duration::from_secs(1)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop_server: {e}");
            ExitCode::FAILURE
        }
    }
}
