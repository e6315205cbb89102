//! A batch of 100 64-byte unary echo calls over `unix://` against 100 sequential calls, from
//! Rust (issue 22's batch target is stated for Python: `benches/python/batch_bench.py`; this is
//! the same comparison without Python, to profile the core's share):
//! `cargo run --release -p hms-ffi-benches --example batch [ROUNDS] [unix:///path.sock]` — with
//! no URI it serves the echo itself, in this process. `perf record -g` on it shows where a
//! batched call's time goes.

use std::time::{Duration, Instant};

use hms_ffi_benches::{hms_raw_echo_server, HMS_METHOD};
use hms_ffi_core::{CallOptions, Value};

const BATCH: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().map_or(200, |r| r.parse().expect("ROUNDS"));
    let dir = tempfile::tempdir().expect("temp dir");
    let _server;
    let uri = match args.get(1) {
        Some(uri) => uri.clone(),
        None => {
            let uri = format!("unix://{}", dir.path().join("b.sock").display());
            let server = hms_raw_echo_server();
            server.listen(&uri).expect("listen");
            _server = server;
            uri
        }
    };
    let rt = hms_ffi_core::runtime::runtime();
    let client = rt.block_on(hms_ffi_core::connect(&uri)).expect("connect");
    let request = Value::message([("data", Value::Bytes((0..62u8).collect::<Vec<_>>()))]);
    let calls: Vec<(&str, Value)> = (0..BATCH).map(|_| (HMS_METHOD, request.clone())).collect();
    let opts = CallOptions::default();
    let (mut sequential, mut batched) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..BATCH {
            rt.block_on(client.call(HMS_METHOD, &request, &opts))
                .expect("call");
        }
        sequential.push(start.elapsed());
        let start = Instant::now();
        let replies = rt.block_on(client.batch(&calls, &opts)).expect("batch");
        batched.push(start.elapsed());
        assert!(replies.iter().all(Result::is_ok), "every call answered");
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (s, b) = (median(&mut sequential), median(&mut batched));
    let rate = |d: Duration| BATCH as f64 / d.as_secs_f64();
    println!(
        "{BATCH} sequential calls: {:?} ({:.0} calls/s); one batch: {:?} ({:.0} calls/s); batch / sequential {:.2}x",
        s,
        rate(s),
        b,
        rate(b),
        rate(b) / rate(s)
    );
}
