//! N 64-byte unary echo calls over `grpc+unix://`, hms-ffi or bare tonic, C at a time (default
//! 1), for instruction counting: `valgrind --tool=callgrind target/release/examples/grpc_calls
//! hms 5000` (compare two values of N to get the cost of one call; see `benches/README.md`), or
//! CPU time per call under concurrency: `perf stat -e task-clock … grpc_calls tonic 50000 16`.

use std::time::Instant;

use bytes::Bytes;
use hms_ffi_benches::{
    hms_raw_echo_server, in_flight, tonic_over_uds, Blob, RawCodec, GRPC_PATH, HMS_METHOD,
};
use hms_ffi_core::CallOptions;
use http::uri::PathAndQuery;
use prost::Message;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |n: &str| n.parse::<u64>().expect("N and C are numbers");
    let (which, n, c) = match args.as_slice() {
        [w, n] => (w.clone(), number(n), 1),
        [w, n, c] => (w.clone(), number(n), number(c).max(1)),
        _ => {
            eprintln!("usage: grpc_calls hms|hms-one-runtime|tonic N [C]");
            std::process::exit(2);
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let req = Bytes::from(
        Blob {
            data: (0..64u8).collect(),
        }
        .encode_to_vec(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    match which.as_str() {
        // `hms-one-runtime`: the server listens from inside the application's runtime, so that
        // it runs there (as tonic's does here) instead of on hms-ffi's own runtime.
        "hms" | "hms-one-runtime" => {
            let server = hms_raw_echo_server();
            let uri = format!("grpc+unix://{}", dir.path().join("h.sock").display());
            if which == "hms" {
                server.listen(&uri).expect("listen");
            } else {
                rt.block_on(async { server.listen(&uri) }).expect("listen");
            }
            rt.block_on(async {
                let client = hms_ffi_core::connect(&uri).await.expect("connect");
                in_flight(n, c, move || {
                    let (client, req) = (client.clone(), req.clone());
                    async move {
                        let opts = CallOptions::default();
                        let r = client.call_raw(HMS_METHOD, req.clone(), &opts).await;
                        assert_eq!(r.expect("call"), req);
                        Ok(())
                    }
                })
                .await;
            });
        }
        "tonic" => {
            let path = dir.path().join("t.sock");
            rt.block_on(async {
                let channel = tonic_over_uds(path).await;
                let grpc = tonic::client::Grpc::new(channel);
                in_flight(n, c, move || {
                    let (mut grpc, req) = (grpc.clone(), req.clone());
                    async move {
                        grpc.ready().await.expect("ready");
                        let r = grpc
                            .unary(
                                tonic::Request::new(req.clone()),
                                PathAndQuery::from_static(GRPC_PATH),
                                RawCodec,
                            )
                            .await
                            .expect("call");
                        assert_eq!(r.into_inner(), req);
                        Ok(())
                    }
                })
                .await;
            });
        }
        other => panic!("unknown {other}"),
    }
    println!(
        "{which}: {n} calls, {c} at a time, in {:?}",
        start.elapsed()
    );
}
