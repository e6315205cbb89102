//! 64-byte echo, sequential round-trip latency: hms-ffi (inproc, unix, raw bytes, async)
//! against a bare tonic gRPC echo over a unix socket and a raw blocking unix-socket ping-pong.
//! See `benches/README.md`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener as StdUnixListener, UnixStream as StdUnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Bencher, Criterion};
use hms_ffi_benches::{
    hms_raw_echo_server, in_flight, tonic_over_uds, Blob, RawCodec, ECHO_PROTO, GRPC_PATH,
    HMS_METHOD,
};
use hms_ffi_core::{CallOptions, Client, Schema, Server, Value};
use http::uri::PathAndQuery;
use prost::Message;
use tokio::runtime::Runtime;
use tonic::client::Grpc;
use tonic::transport::Channel;

const PAYLOAD_LEN: usize = 64;

/// 64 distinct bytes, so a reordering or truncation would fail the check.
fn payload() -> Vec<u8> {
    (0..PAYLOAD_LEN).map(|i| (i * 7 + 3) as u8).collect()
}

fn unix_uri(path: &Path) -> String {
    format!("unix://{}", path.display())
}

/// The hms-ffi servers: one value-mapped handler on inproc and unix, one raw-bytes handler on
/// a second unix socket. They run on hms-ffi's shared runtime (started outside any runtime).
fn start_hms(dir: &Path) -> (Vec<Server>, String, String) {
    let schema = Schema::from_source("echo.proto", ECHO_PROTO).expect("echo schema compiles");

    let mapped = Server::new(schema.clone());
    mapped
        .unary(HMS_METHOD, |req: Value, _ctx| async move { Ok(req) })
        .expect("register unary handler");
    mapped
        .listen("inproc://bench-echo")
        .expect("listen inproc://bench-echo");
    let unix = unix_uri(&dir.join("hms.sock"));
    mapped.listen(&unix).expect("listen on hms.sock");

    let raw = hms_raw_echo_server();
    let unix_raw = unix_uri(&dir.join("hms-raw.sock"));
    raw.listen(&unix_raw).expect("listen on hms-raw.sock");
    let grpc_raw = format!("grpc+unix://{}", dir.join("hms-grpc.sock").display());
    raw.listen(&grpc_raw).expect("listen on hms-grpc.sock");

    (vec![mapped, raw], unix, unix_raw)
}

/// An hms-ffi raw-bytes gRPC echo server listening on `path` from inside `rt` (its connections
/// are served on `rt`, like a tonic server spawned there) and an async client connected in `rt`.
fn start_hms_grpc_on(rt: &Runtime, path: &Path) -> (Server, Client) {
    let server = hms_raw_echo_server();
    let uri = format!("grpc+unix://{}", path.display());
    rt.block_on(async { server.listen(&uri) })
        .unwrap_or_else(|e| panic!("listen on {uri} in the app runtime failed: {e} ({e:?})"));
    let client = rt
        .block_on(hms_ffi_core::connect(&uri))
        .unwrap_or_else(|e| panic!("hms-ffi connect to {uri} failed: {e} ({e:?})"));
    (server, client)
}

/// A tonic server on `path`, spawned on `rt`, and a client channel to it.
fn start_tonic(rt: &Runtime, path: PathBuf) -> Grpc<Channel> {
    rt.block_on(async move { Grpc::new(tonic_over_uds(path).await) })
}

async fn tonic_echo(grpc: &mut Grpc<Channel>, req: Bytes) -> Result<Bytes, tonic::Status> {
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = PathAndQuery::from_static(GRPC_PATH);
    let reply = grpc.unary(tonic::Request::new(req), path, RawCodec).await?;
    Ok(reply.into_inner())
}

/// A blocking server thread: reads a 4-byte length prefix and that many bytes, writes both back.
fn start_raw_uds(path: &Path) -> StdUnixStream {
    let listener = StdUnixListener::bind(path).expect("bind raw socket");
    std::thread::Builder::new()
        .name("raw-uds-echo".into())
        .spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = Vec::with_capacity(4 + PAYLOAD_LEN);
            loop {
                buf.resize(4, 0);
                if conn.read_exact(&mut buf[..4]).is_err() {
                    return; // client gone
                }
                let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                buf.resize(4 + len, 0);
                if conn.read_exact(&mut buf[4..]).is_err() || conn.write_all(&buf).is_err() {
                    return;
                }
            }
        })
        .expect("spawn raw echo thread");
    StdUnixStream::connect(path).expect("connect raw socket")
}

fn raw_echo(conn: &mut StdUnixStream, frame: &[u8], reply: &mut [u8]) {
    conn.write_all(frame).expect("raw write");
    conn.read_exact(reply).expect("raw read");
}

fn hms_echo(client: &Client, req: &Value, opts: &CallOptions) -> Value {
    client
        .call_blocking(HMS_METHOD, req, opts)
        .unwrap_or_else(|e| panic!("hms-ffi call on {} failed: {e} ({e:?})", client.endpoint()))
}

fn hms_echo_raw(client: &Client, req: Bytes, opts: &CallOptions) -> Bytes {
    hms_ffi_core::runtime::block_on(client.call_raw(HMS_METHOD, req, opts))
        .and_then(|r| r)
        .unwrap_or_else(|e| {
            panic!(
                "hms-ffi call_raw on {} failed: {e} ({e:?})",
                client.endpoint()
            )
        })
}

fn echo_64b(c: &mut Criterion) {
    let data = payload();
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = CallOptions::default();

    // hms-ffi: servers on the shared runtime, blocking clients on this (plain) thread.
    let (_servers, unix, unix_raw) = start_hms(dir.path());
    let connect = |uri: &str| {
        hms_ffi_core::connect_blocking(uri)
            .unwrap_or_else(|e| panic!("hms-ffi connect to {uri} failed: {e} ({e:?})"))
    };
    let inproc = connect("inproc://bench-echo");
    let unix_client = connect(&unix);
    let raw_client = connect(&unix_raw);
    let grpc_client = connect(&format!(
        "grpc+unix://{}",
        dir.path().join("hms-grpc.sock").display()
    ));
    let req = Value::message([("data", Value::Bytes(data.clone()))]);
    let req_bytes = Bytes::from(Blob { data: data.clone() }.encode_to_vec());

    // An application runtime: the tonic server and client, and the async hms-ffi client.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-app")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut grpc = start_tonic(&rt, dir.path().join("tonic.sock"));
    let async_client = rt
        .block_on(hms_ffi_core::connect(&unix))
        .unwrap_or_else(|e| panic!("hms-ffi async connect to {unix} failed: {e} ({e:?})"));
    // The like-for-like gRPC pair to tonic's: an hms-ffi gRPC server listening from inside the
    // application runtime (so its tasks run there, as the tonic server's do) and a client
    // connected from inside it.
    let (_app_server, app_client) = start_hms_grpc_on(&rt, &dir.path().join("hms-grpc-app.sock"));

    let mut raw_conn = start_raw_uds(&dir.path().join("raw.sock"));
    let mut frame = (PAYLOAD_LEN as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&data);
    let mut raw_reply = vec![0u8; frame.len()];

    // Check every path once, untimed: the same 64 bytes must come back.
    let want = Some(Value::Bytes(data.clone()));
    for (name, client) in [("hms_inproc", &inproc), ("hms_unix", &unix_client)] {
        let reply = hms_echo(client, &req, &opts);
        assert_eq!(reply.get("data").cloned(), want, "{name}: echo differs");
    }
    let reply = rt
        .block_on(async_client.call(HMS_METHOD, &req, &opts))
        .unwrap_or_else(|e| panic!("hms-ffi async call failed: {e} ({e:?})"));
    assert_eq!(
        reply.get("data").cloned(),
        want,
        "hms_unix_async: echo differs"
    );
    let reply = hms_echo_raw(&raw_client, req_bytes.clone(), &opts);
    let decoded = Blob::decode(reply).expect("hms_unix_raw: reply is a Blob");
    assert_eq!(decoded.data, data, "hms_unix_raw: echo differs");
    let reply = hms_echo_raw(&grpc_client, req_bytes.clone(), &opts);
    let decoded = Blob::decode(reply).expect("hms_grpc_uds_raw: reply is a Blob");
    assert_eq!(decoded.data, data, "hms_grpc_uds_raw: echo differs");
    let reply = rt
        .block_on(app_client.call_raw(HMS_METHOD, req_bytes.clone(), &opts))
        .unwrap_or_else(|e| panic!("hms_grpc_uds_raw_app_rt failed: {e} ({e:?})"));
    let decoded = Blob::decode(reply).expect("hms_grpc_uds_raw_app_rt: reply is a Blob");
    assert_eq!(decoded.data, data, "hms_grpc_uds_raw_app_rt: echo differs");
    let reply = rt
        .block_on(tonic_echo(&mut grpc, req_bytes.clone()))
        .unwrap_or_else(|s| panic!("tonic echo failed: {s}"));
    let decoded = Blob::decode(reply).expect("tonic_uds: reply is a Blob");
    assert_eq!(decoded.data, data, "tonic_uds: echo differs");
    raw_echo(&mut raw_conn, &frame, &mut raw_reply);
    assert_eq!(raw_reply, frame, "raw_uds: echo differs");

    let mut group = c.benchmark_group("echo_64b");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    group.bench_function("hms_inproc", |b| {
        b.iter(|| hms_echo(&inproc, black_box(&req), &opts));
    });
    group.bench_function("hms_unix", |b| {
        b.iter(|| hms_echo(&unix_client, black_box(&req), &opts));
    });
    group.bench_function("hms_unix_raw", |b| {
        b.iter(|| hms_echo_raw(&raw_client, black_box(req_bytes.clone()), &opts));
    });
    group.bench_function("hms_unix_async", |b| {
        b.to_async(&rt).iter(|| async {
            async_client
                .call(HMS_METHOD, black_box(&req), &opts)
                .await
                .unwrap_or_else(|e| panic!("hms-ffi async call failed: {e} ({e:?})"))
        });
    });
    group.bench_function("hms_grpc_uds_raw", |b| {
        b.iter(|| hms_echo_raw(&grpc_client, black_box(req_bytes.clone()), &opts));
    });
    group.bench_function("hms_grpc_uds_raw_app_rt", |b| {
        b.iter(|| {
            rt.block_on(app_client.call_raw(HMS_METHOD, black_box(req_bytes.clone()), &opts))
                .unwrap_or_else(|e| panic!("hms-ffi call failed: {e} ({e:?})"))
        });
    });
    group.bench_function("tonic_uds", |b| {
        b.iter(|| {
            rt.block_on(tonic_echo(&mut grpc, black_box(req_bytes.clone())))
                .unwrap_or_else(|s| panic!("tonic echo failed: {s}"))
        });
    });
    // Throughput: 16 calls in flight at once; criterion's time per iteration is the time per
    // call, so calls/s = 1 / time.
    group.bench_function("hms_grpc_uds_raw_16_concurrent", |b| {
        let uri = format!("grpc+unix://{}", dir.path().join("hms-grpc.sock").display());
        let client = rt
            .block_on(hms_ffi_core::connect(&uri))
            .expect("connect over grpc+unix");
        hms_16_concurrent(b, &rt, &client, &req_bytes);
    });
    group.bench_function("hms_grpc_uds_raw_app_rt_16_concurrent", |b| {
        hms_16_concurrent(b, &rt, &app_client, &req_bytes);
    });
    group.bench_function("tonic_uds_16_concurrent", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let grpc = grpc.clone();
            let req = req_bytes.clone();
            async move {
                in_flight(iters, 16, move || {
                    let (mut grpc, req) = (grpc.clone(), req.clone());
                    async move {
                        tonic_echo(&mut grpc, req)
                            .await
                            .map(|_| ())
                            .map_err(|s| s.to_string())
                    }
                })
                .await
            }
        });
    });
    group.bench_function("raw_uds", |b| {
        b.iter(|| raw_echo(&mut raw_conn, black_box(&frame), &mut raw_reply));
    });
    group.finish();

    // Close the client sides first, then let the servers, runtime and temp dir drop.
    drop(raw_conn);
    inproc.close();
    unix_client.close();
    grpc_client.close();
    app_client.close();
    raw_client.close();
    async_client.close();
}

/// Times raw-bytes echo calls through `client`, 16 in flight at once on `rt`.
fn hms_16_concurrent(b: &mut Bencher<'_>, rt: &Runtime, client: &Client, req: &Bytes) {
    b.to_async(rt).iter_custom(|iters| {
        let (client, req) = (client.clone(), req.clone());
        async move {
            in_flight(iters, 16, move || {
                let (client, req) = (client.clone(), req.clone());
                async move {
                    client
                        .call_raw(HMS_METHOD, req, &CallOptions::default())
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            })
            .await
        }
    });
}

criterion_group!(benches, echo_64b);
criterion_main!(benches);
