//! N sequential 64-byte echo calls over `unix://` (value-mapped handler, blocking client, as
//! `hms_unix` in the echo bench), with tracing in one of three states, for counting the
//! instructions tracing costs a call (issue 20's overhead targets; see `benches/README.md`):
//!
//! - `off`: no export configured, so nothing is sampled (the default state of every process);
//! - `sampled`: `OTEL_TRACES_SAMPLER=always_on` and an OTLP/HTTP endpoint, so every call makes a
//!   client and a server span and both are exported, in batches, to a sink this program serves
//!   on 127.0.0.1 (it answers `200` to every POST).
//!
//! ```sh
//! cargo build --release -p hms-ffi-benches --example trace_cost
//! HMS_FFI_SPIN_US=0 valgrind --tool=callgrind target/release/examples/trace_cost off 1000
//! HMS_FFI_SPIN_US=0 valgrind --tool=callgrind target/release/examples/trace_cost off 5000
//! # and the same with `sampled`; (instructions at 5000 - at 1000) / 4000 = one call
//! ```
//! It prints the calls' p50 and the OTLP bytes the sink received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hms_ffi_benches::{ECHO_PROTO, HMS_METHOD};
use hms_ffi_core::{CallOptions, Schema, Server, Value};

/// Serves OTLP/HTTP POSTs on a free port: reads each request, answers 200, counts the bytes.
fn sink() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
    let port = listener.local_addr().expect("sink address").port();
    let received = Arc::new(AtomicU64::new(0));
    let bytes = received.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let bytes = bytes.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn);
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    bytes.fetch_add(length as u64, Ordering::Relaxed);
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(ok).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, received)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n) = match args.as_slice() {
        [m, n] if m == "off" || m == "sampled" => (m.clone(), n.parse::<u64>().expect("N")),
        _ => {
            eprintln!("usage: trace_cost off|sampled N");
            std::process::exit(2);
        }
    };
    let received = (mode == "sampled").then(|| {
        let (port, received) = sink();
        // Read by the first server or client this process makes.
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        );
        std::env::set_var("OTEL_TRACES_SAMPLER", "always_on");
        std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
        received
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = Schema::from_source("echo.proto", ECHO_PROTO).expect("echo schema compiles");
    let server = Server::new(schema);
    server
        .unary(HMS_METHOD, |req: Value, _ctx| async move { Ok(req) })
        .expect("register the echo");
    let uri = format!("unix://{}", dir.path().join("t.sock").display());
    server.listen(&uri).expect("listen");
    let client = hms_ffi_core::connect_blocking(&uri).expect("connect");
    let req = Value::message([("data", Value::Bytes((0..64u8).collect()))]);
    let opts = CallOptions::default();
    let mut times = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        let reply = client
            .call_blocking(HMS_METHOD, &req, &opts)
            .expect("echo call");
        times.push(t.elapsed());
        assert_eq!(reply.get("data"), req.get("data"), "the echo differs");
    }
    hms_ffi_core::trace::flush(Duration::from_secs(10));
    times.sort();
    let p50 = times.get(times.len() / 2).copied().unwrap_or_default();
    let otlp = received.map_or(0, |r| r.load(Ordering::Relaxed));
    println!(
        "{mode}: {n} calls, p50 {:.2} µs, OTLP bytes received {otlp}",
        p50.as_secs_f64() * 1e6
    );
}
