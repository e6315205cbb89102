//! A typed Rust client and server of demo.v1.Greeter, from `hms-ffi gen --lang rust`
//! (`gen/rust/demo_v1.rs`), streams included.
//!
//! ```text
//! cargo run -p hms-ffi-cli --example typed_greeter -- serve unix:///tmp/g.sock  # until Ctrl-C
//! cargo run -p hms-ffi-cli --example typed_greeter -- call unix:///tmp/g.sock   # any greeter server
//! cargo run -p hms-ffi-cli --example typed_greeter -- both                      # inproc://, one process
//! ```
//!
//! `make build` compiles it (clippy checks it with the workspace's lints), and `make test-gen`
//! runs it against the Python server.

// Generated code is left as generated (scripts/gen-typed.sh --check compares it), not rustfmt'd.
#[rustfmt::skip]
#[path = "../../../gen/rust/demo_v1.rs"]
mod demo_v1;
// Compiled (and linted) with the example; nothing here calls it.
#[rustfmt::skip]
#[path = "../../../gen/rust/hms_conformance_v1.rs"]
mod hms_conformance_v1;

use std::sync::Arc;
use std::time::Duration;

use demo_v1::{register_greeter, GreeterClient, GreeterService, HelloReply, HelloRequest, Sink};
use hms_ffi_core::{CallOptions, Context, Result, Schema, Server};

/// The typed server: every method of demo.v1.Greeter, the streaming one included.
struct Greeter;

impl GreeterService for Greeter {
    async fn say_hello(&self, request: HelloRequest, _ctx: Context) -> Result<HelloReply> {
        Ok(HelloReply {
            message: format!("Hello {} from Rust", request.name),
            at: None,
        })
    }

    async fn chatter(
        &self,
        request: HelloRequest,
        replies: Sink<HelloReply>,
        _ctx: Context,
    ) -> Result<()> {
        for i in 0..request.times {
            replies.send(&HelloReply {
                message: format!("#{i} hi {}", request.name),
                at: None,
            })?;
        }
        Ok(())
    }
}

fn new_server() -> Result<Server> {
    let server = Server::new(Schema::load(
        &["examples/protos/greeter.proto"],
        &[] as &[&str],
    )?);
    register_greeter(&server, Arc::new(Greeter))?;
    Ok(server)
}

async fn call(uri: &str) -> Result<()> {
    let mut greeter = GreeterClient::new(hms_ffi_core::connect(uri).await?);
    greeter.options = CallOptions::with_timeout(Duration::from_secs(5));
    let request = HelloRequest {
        name: "Ada".into(),
        times: 2,
    };
    println!("{}", greeter.say_hello(&request).await?.message);
    let mut replies = greeter.chatter(&request).await?;
    while let Some(reply) = replies.next().await {
        match reply {
            Ok(reply) => println!("{}", reply.message),
            Err(e) => println!("(Chatter: {})", e.message()),
        }
    }
    Ok(())
}

async fn run(args: &[String]) -> Result<()> {
    match args {
        [mode, uri] if mode == "serve" => {
            let server = new_server()?;
            println!("{}", server.listen(uri)?);
            server.serve_until_signal(Duration::from_secs(1)).await
        }
        [mode, uri] if mode == "call" => call(uri).await,
        _ => {
            let server = new_server()?;
            server.listen("inproc://typed-greeter-rs")?;
            call("inproc://typed-greeter-rs").await
        }
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match hms_ffi_core::runtime::runtime().block_on(run(&args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {}", e.code(), e.message());
            std::process::ExitCode::FAILURE
        }
    }
}
