//! The greeter example: a server and a client for `examples/protos/greeter.proto`.
//!
//! ```text
//! cargo run -p hms-ffi-core --example greeter -- serve unix:///tmp/greeter.sock
//! cargo run -p hms-ffi-core --example greeter -- call unix:///tmp/greeter.sock Ada
//! cargo run -p hms-ffi-core --example greeter -- both          # one process, inproc://
//! ```
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hms_ffi_core::{connect, CallOptions, Code, Error, Schema, Server, Timestamp, Value};

fn schema() -> hms_ffi_core::Result<Schema> {
    let proto = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/protos/greeter.proto"
    );
    Schema::load(&[proto], &[] as &[&str])
}

fn now() -> Value {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Value::Timestamp(Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    })
}

fn greeter() -> hms_ffi_core::Result<Server> {
    let server = Server::new(schema()?);
    server.unary("demo.v1.Greeter/SayHello", |req, ctx| async move {
        let name = req
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(Error::new(Code::InvalidArgument, "name must not be empty"));
        }
        let times = req.get("times").and_then(Value::as_i64).unwrap_or(1).max(1) as usize;
        let text = vec![format!("Hello {name}"); times].join(", ");
        println!(
            "[server] {} from {} (trace {})",
            ctx.method(),
            ctx.peer(),
            ctx.trace_id()
        );
        Ok(Value::message([
            ("message", Value::from(text)),
            ("at", now()),
        ]))
    })?;
    server.unary("demo.v1.Greeter/Echo", |req, _| async move { Ok(req) })?;
    server.server_streaming("demo.v1.Greeter/Chatter", |req, sink, _| async move {
        let name = req
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for i in 0..req.get("times").and_then(Value::as_i64).unwrap_or(3) {
            sink.send(&Value::message([
                ("message", Value::from(format!("#{i} hi {name}"))),
                ("at", now()),
            ]))?;
        }
        Ok(())
    })?;
    Ok(server)
}

async fn client(uri: &str, name: &str) -> hms_ffi_core::Result<()> {
    let client = connect(uri).await?;
    println!(
        "[client] connected to {uri}; methods: {}",
        client.schema().method_names().join(", ")
    );
    let opts = CallOptions::with_timeout(Duration::from_secs(5));
    let req = Value::message([("name", Value::from(name)), ("times", Value::from(2))]);
    let reply = client.call("demo.v1.Greeter/SayHello", &req, &opts).await?;
    println!("[client] SayHello -> {reply:?}");
    let mut stream = client
        .server_streaming("demo.v1.Greeter/Chatter", &req, &opts)
        .await?;
    while let Some(item) = stream.next().await {
        match item {
            Ok(v) => println!("[client] Chatter -> {:?}", v.get("message")),
            // A server that does not serve Chatter answers UNIMPLEMENTED.
            Err(e) if e.code() == Code::Unimplemented => println!("[client] Chatter: {e}"),
            Err(e) => return Err(e),
        }
    }
    let bad = Value::message([("name", Value::from(42))]);
    match client.call("demo.v1.Greeter/SayHello", &bad, &opts).await {
        Err(e) => println!("[client] a wrong type is refused: {e}"),
        Ok(v) => println!("[client] unexpected reply {v:?}"),
    }
    match client
        .call("demo.v1.Greeter/SayHello", &Value::Map(vec![]), &opts)
        .await
    {
        Err(e) => println!(
            "[client] the handler's own error comes back typed: {} ({:?})",
            e,
            e.origin()
        ),
        Ok(v) => println!("[client] unexpected reply {v:?}"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => {
            let uri = args
                .get(1)
                .cloned()
                .unwrap_or_else(|| "unix:///tmp/hms-greeter.sock".into());
            async {
                let server = greeter()?;
                server.listen(&uri)?;
                println!("[server] listening on {uri}; Ctrl-C stops");
                server.serve_until_signal(Duration::from_secs(2)).await
            }
            .await
        }
        Some("call") => {
            let uri = args
                .get(1)
                .cloned()
                .unwrap_or_else(|| "unix:///tmp/hms-greeter.sock".into());
            client(&uri, args.get(2).map_or("Ada", String::as_str)).await
        }
        Some("both") | None => {
            async {
                let server = greeter()?;
                server.listen("inproc://greeter")?;
                client("inproc://greeter", "Ada").await?;
                server.shutdown(Duration::from_secs(1)).await;
                Ok(())
            }
            .await
        }
        Some(other) => Err(Error::new(
            Code::InvalidArgument,
            format!("unknown mode {other:?} (serve|call|both)"),
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
