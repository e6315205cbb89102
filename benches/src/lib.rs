//! Shared pieces of the hms-ffi benchmarks (see `benches/README.md`).
//!
//! The `echo` bench compares hms-ffi against a bare tonic gRPC echo over a unix domain socket.
//! No `protoc` is available, so the tonic side is written by hand instead of generated: a
//! [`RawCodec`] that passes protobuf bytes through untouched, an [`EchoUnary`] handler, and an
//! [`EchoService`] router shaped like tonic's generated server code. [`Blob`] is the message
//! both sides exchange, declared with `prost`'s derive (no code generation step).

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

/// The schema both hms-ffi and tonic serve.
pub const ECHO_PROTO: &str = r#"syntax = "proto3"; package bench.v1;
message Blob { bytes data = 1; }
service Echo { rpc Echo(Blob) returns (Blob); }"#;

/// The method as hms-ffi names it.
pub const HMS_METHOD: &str = "bench.v1.Echo/Echo";

/// The gRPC service name.
pub const SERVICE_NAME: &str = "bench.v1.Echo";

/// The gRPC request path.
pub const GRPC_PATH: &str = "/bench.v1.Echo/Echo";

/// `bench.v1.Blob`, for building and checking the wire bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Blob {
    /// The payload.
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}

/// A tonic codec over already-encoded protobuf bytes: the encoder and decoder only copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// The encoder of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// The decoder of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

/// The unary echo handler: returns the request bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoUnary;

impl tonic::server::UnaryService<Bytes> for EchoUnary {
    type Response = Bytes;
    type Future = Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        ready(Ok(tonic::Response::new(request.into_inner())))
    }
}

/// The echo service as tonic's generated server would be: routes `/bench.v1.Echo/Echo` to
/// [`EchoUnary`] through `tonic::server::Grpc::unary`, anything else to `Unimplemented`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoService;

impl tonic::server::NamedService for EchoService {
    const NAME: &'static str = SERVICE_NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl tower::Service<http::Request<tonic::body::Body>> for EchoService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        if req.uri().path() == GRPC_PATH {
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(RawCodec);
                Ok(grpc.unary(EchoUnary, req).await)
            })
        } else {
            Box::pin(async move { Ok(Status::unimplemented("no such method").into_http()) })
        }
    }
}

/// Serves [`EchoService`] with tonic on a unix socket at `path` (a task on the current runtime)
/// and returns a client channel to it.
pub async fn tonic_over_uds(path: std::path::PathBuf) -> tonic::transport::Channel {
    let listener = tokio::net::UnixListener::bind(&path).expect("bind tonic socket");
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    tokio::spawn(async move {
        if let Err(e) = tonic::transport::Server::builder()
            .add_service(EchoService)
            .serve_with_incoming(incoming)
            .await
        {
            eprintln!("tonic server stopped: {e}");
        }
    });
    tonic::transport::Endpoint::try_from("http://[::]:50051")
        .expect("static endpoint")
        .connect_with_connector(tower::service_fn(move |_: http::Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await
        .expect("tonic client connects over the unix socket")
}

/// An hms-ffi server echoing raw protobuf bytes on [`HMS_METHOD`] (no value mapping): the
/// like-for-like peer of [`EchoService`]. Not listening yet.
pub fn hms_raw_echo_server() -> hms_ffi_core::Server {
    let schema =
        hms_ffi_core::Schema::from_source("echo.proto", ECHO_PROTO).expect("echo schema compiles");
    let server = hms_ffi_core::Server::new(schema);
    server
        .unary_raw(HMS_METHOD, |req: Bytes, _ctx| async move { Ok(req) })
        .expect("register the raw echo handler");
    server
}

/// Makes `n` calls with `call`, `c` at a time (each of `c` tasks on the current runtime makes
/// its share one after another), and returns the wall time they took. A failed call panics.
pub async fn in_flight<F, Fut>(n: u64, c: u64, call: F) -> std::time::Duration
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let c = c.max(1);
    let call = std::sync::Arc::new(call);
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..c)
        .map(|t| {
            let call = call.clone();
            let share = n / c + u64::from(t < n % c);
            tokio::spawn(async move {
                for _ in 0..share {
                    call().await.unwrap_or_else(|e| panic!("call failed: {e}"));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a call task panicked");
    }
    start.elapsed()
}
