//! `hms-ffi`: the command line for hms-ffi, like grpcurl for every hms-ffi transport.
//!
//! ```text
//! hms-ffi serve --schema greeter.proto [--include DIR] --listen unix:///tmp/g.sock --echo \
//!     [--security security.toml] [--policy policy.toml] [--audit audit.jsonl] \
//!     [--admin http://127.0.0.1:9464] [--service-config service_config.json]
//! hms-ffi call unix:///tmp/g.sock demo.v1.Greeter/SayHello '{"name": "Ada"}'
//! hms-ffi list unix:///tmp/g.sock
//! hms-ffi check --against old/ new/ [--category FILE|PACKAGE|WIRE_JSON|WIRE] [--json]
//! hms-ffi check --against 'registry+unix:///tmp/r.sock#shop.v1@latest' shop/
//! hms-ffi call unix:///tmp/g.sock shop.v1.Shop/Get '{}' --expect-schema v1/shop.proto
//! hms-ffi gen --lang python --out gen/python examples/protos/greeter.proto
//! hms-ffi registry serve --db registry.db --listen grpc://127.0.0.1:7070
//! hms-ffi registry register --registry grpc://127.0.0.1:7070 shop/
//! hms-ffi serve --schema greeter.proto --listen grpcs://0.0.0.0:8443 --security security.toml
//! hms-ffi call 'grpcs://host:8443?ca=ca.pem&cert=me.pem&key=me.key' demo.v1.Greeter/SayHello '{}'
//! ```

mod evolution;
mod gen;
mod registry;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hms_ffi_core::registry::{RegistryRef, INCOMPATIBLE_SCHEMA};
use hms_ffi_core::{CallOptions, Error, Metadata, Schema, StreamingKind};

#[derive(Parser)]
#[command(
    name = "hms-ffi",
    version,
    about = "Serve, call and inspect hms-ffi endpoints"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a schema. With --echo, every method whose request and response types are the same
    /// returns its request after a full decode, validation and re-encode.
    Serve {
        /// .proto files to serve (repeatable).
        #[arg(long, required = true)]
        schema: Vec<PathBuf>,
        /// Include directories for imports (repeatable).
        #[arg(long = "include", short = 'I')]
        includes: Vec<PathBuf>,
        /// Endpoints to listen on (repeatable): inproc://name, unix:///path.sock, shm://name,
        /// auto://name (found by name on this machine, docs/transports.md), grpc://host:port, grpc+unix:///path.sock, http://host:port (Connect),
        /// ws://host:port (WebSocket); grpcs://, https://, wss:// with a [tls] table in --security.
        #[arg(long, required = true)]
        listen: Vec<String>,
        /// Answer every method whose request and response types are equal with its request.
        #[arg(long)]
        echo: bool,
        /// Security file (TOML: limits, tls, jwt, audit, policy; see docs/security.md).
        #[arg(long)]
        security: Option<PathBuf>,
        /// Authorization policy file (TOML), on top of --security.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Audit log file (one JSON line per call), on top of --security.
        #[arg(long)]
        audit: Option<PathBuf>,
        /// Admin listener, http://host:port: /metrics (Prometheus text) and /healthz (see
        /// docs/observability.md).
        #[arg(long)]
        admin: Option<String>,
        /// gRPC service config (JSON file) announced in discovery: clients that discover the
        /// schema and have no config of their own retry by it (docs/resilience.md).
        #[arg(long)]
        service_config: Option<PathBuf>,
        /// Serve another revision of the schema beside it, LABEL=FILE.proto (repeatable;
        /// imports from --include): a call chooses it with the hms-schema-revision metadata
        /// entry or `call --revision LABEL`; --echo answers its methods too (docs/evolution.md).
        #[arg(long = "revision", value_name = "LABEL=FILE")]
        revisions: Vec<String>,
    },
    /// Call a unary method with a JSON request; prints the JSON reply.
    Call {
        /// Endpoint: unix:///tmp/g.sock, grpc://host:port, http://host:port, ws://host:port,
        /// grpcs://host:port?ca=ca.pem&cert=me.pem&key=me.key (also https://, wss://), …
        uri: String,
        /// Method, package.Service/Method.
        method: String,
        /// Request as protobuf JSON (field names as in the .proto or lowerCamelCase).
        #[arg(default_value = "{}")]
        request: String,
        /// Seconds to wait before giving up.
        #[arg(long)]
        timeout: Option<f64>,
        /// Metadata entries key=value (repeatable).
        #[arg(long = "metadata", short = 'H')]
        metadata: Vec<String>,
        /// Print fields that hold their default value too.
        #[arg(long)]
        emit_defaults: bool,
        /// .proto files describing the method (repeatable): no discovery call, for servers that
        /// do not answer it (a stock NATS micro service, a gRPC server without reflection).
        #[arg(long)]
        schema: Vec<PathBuf>,
        /// Directories the --schema imports are searched in (repeatable).
        #[arg(long = "include", short = 'I')]
        includes: Vec<PathBuf>,
        /// The schema revision to speak, a label or fingerprint `list` shows (sent as the
        /// hms-schema-revision metadata entry; the request is read with that revision's schema).
        #[arg(long)]
        revision: Option<String>,
        /// .proto files of the schema this caller was built against (repeatable; imports from
        /// -I): at connect each of its methods is checked against the server's schema, and a
        /// call to one the server breaks fails before it is sent (FAILED_PRECONDITION, reason
        /// INCOMPATIBLE_SCHEMA, the findings listed).
        #[arg(long, value_name = "FILE")]
        expect_schema: Vec<PathBuf>,
        /// As --expect-schema, with the schema fetched from a registry:
        /// registry+URI#SUBJECT[@VERSION|@latest|@sha256:…] (docs/evolution.md).
        #[arg(long, value_name = "REF", conflicts_with = "expect_schema",
              value_parser = parse_reference)]
        expect_registry: Option<RegistryRef>,
        /// The rules of that check: WIRE_JSON (default), WIRE, PACKAGE or FILE.
        #[arg(long)]
        expect_category: Option<String>,
    },
    /// List the services and methods a server offers.
    List {
        /// Endpoint: unix:///tmp/g.sock, grpc://host:port, http://host:port, ws://host:port,
        /// grpcs://host:port?ca=ca.pem&cert=me.pem&key=me.key (also https://, wss://), …
        uri: String,
    },
    /// Check that .proto files compile and print their methods; with --against, check the new
    /// revision for breaking changes against the old one, with the rules of `buf breaking`.
    /// Exit status with --against: 0 compatible, 1 breaking, 3 unreadable or invalid input.
    Check {
        /// .proto files; with --against, the new revision: one .proto file, a directory or a
        /// registry reference, registry+URI#SUBJECT[@VERSION|@latest|@sha256:…].
        #[arg(required = true, value_parser = evolution::input_parser())]
        schema: Vec<evolution::Input>,
        /// Include directories.
        #[arg(long = "include", short = 'I')]
        includes: Vec<PathBuf>,
        /// The old revision to check for breaking changes against: a .proto file, a directory
        /// or a registry reference, registry+URI#SUBJECT[@VERSION|@latest|@sha256:…].
        #[arg(long, value_name = "OLD", value_parser = evolution::input_parser())]
        against: Option<evolution::Input>,
        /// The rules to apply: FILE (default, as in buf), PACKAGE, WIRE_JSON or WIRE.
        #[arg(long, default_value = "FILE", requires = "against")]
        category: String,
        /// Print the result as one JSON object (for CI) instead of one finding per line.
        #[arg(long, requires = "against")]
        json: bool,
    },
    /// Generate typed bindings (message types, a typed client, a server base) for a language;
    /// see docs/codegen.md.
    Gen {
        /// The language to write.
        #[arg(long, value_enum)]
        lang: gen::Lang,
        /// The folder to write into (created when missing).
        #[arg(long)]
        out: PathBuf,
        /// Include directories for imports (repeatable).
        #[arg(long = "include", short = 'I')]
        includes: Vec<PathBuf>,
        /// The .proto files to generate for.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// A schema registry: serve one over a SQLite file, or register, fetch, list, deprecate
    /// and set modes on one (docs/evolution.md).
    Registry {
        #[command(subcommand)]
        command: registry::RegistryCommand,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HMS_FFI_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if gen::plugin::invoked_as_plugin() {
        return gen::plugin::run();
    }
    let cli = Cli::parse();
    if let Command::Registry { command } = cli.command {
        return registry::run(command);
    }
    if let Command::Gen {
        lang,
        out,
        includes,
        files,
    } = &cli.command
    {
        return gen::run(*lang, out, includes, files);
    }
    if let Command::Check {
        schema,
        includes,
        against: Some(old),
        category,
        json,
    } = cli.command
    {
        return evolution::run(&old, &schema, &includes, &category, json);
    }
    let runtime = hms_ffi_core::runtime::runtime();
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {}", e.code(), e.message());
            for v in e.field_violations() {
                eprintln!("  {}: {}", v.field, v.description);
            }
            print_findings(&e);
            ExitCode::from(1)
        }
    }
}

/// The findings of an `INCOMPATIBLE_SCHEMA` error, one a line.
fn print_findings(e: &Error) {
    let Some(info) = e.details().error_info.as_ref() else {
        return;
    };
    if info.reason != INCOMPATIBLE_SCHEMA {
        return;
    }
    eprintln!("  reason {}", info.reason);
    for line in info
        .metadata
        .get("findings")
        .into_iter()
        .flat_map(|f| f.lines())
    {
        eprintln!("  {line}");
    }
}

/// A `registry+URI#SUBJECT@VERSION` argument.
fn parse_reference(text: &str) -> Result<RegistryRef, Error> {
    text.parse()
}

async fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Serve {
            schema,
            includes,
            listen,
            echo,
            security,
            policy,
            audit,
            admin,
            service_config,
            revisions,
        } => {
            let options = serve::server_options(security, policy, audit, service_config)?;
            let listen = (listen, admin);
            serve::serve(schema, includes, listen, echo, revisions, options).await
        }
        Command::Call {
            uri,
            method,
            request,
            timeout,
            metadata,
            emit_defaults,
            schema,
            includes,
            revision,
            expect_schema,
            expect_registry,
            expect_category,
        } => {
            let given = match schema.is_empty() {
                true => None,
                false => Some(Schema::load(&schema, &includes)?),
            };
            let expected = match (expect_schema.is_empty(), expect_registry) {
                (false, _) => Some(Schema::load(&expect_schema, &includes)?),
                (true, Some(r)) => Some(r.schema(evolution::REGISTRY_TIMEOUT).await?),
                (true, None) => None,
            };
            let options = hms_ffi_core::ConnectOptions {
                schema: given,
                revision,
                expect_schema: expected,
                expect_category: expect_category.map(|c| c.parse()).transpose()?,
                ..Default::default()
            };
            let client = hms_ffi_core::connect_with(&uri, options).await?;
            let mut opts = CallOptions {
                timeout: timeout.map(Duration::from_secs_f64),
                ..CallOptions::default()
            };
            opts.metadata = parse_metadata(&metadata)?;
            let reply = client
                .call_json(&method, &request, &opts, emit_defaults)
                .await?;
            println!("{reply}");
            Ok(())
        }
        Command::List { uri } => {
            let client = hms_ffi_core::connect(&uri).await?;
            print_methods(client.schema());
            for m in client.schemaless_methods() {
                println!("  {m} (schemaless, cbor)");
            }
            match client.schema_version() {
                Some(v) if v.version > 0 => {
                    println!(
                        "schema {} (registry {} v{})",
                        v.fingerprint, v.subject, v.version
                    )
                }
                Some(v) if !v.fingerprint.is_empty() => println!("schema {}", v.fingerprint),
                _ => {}
            }
            let revisions = client.schema_version().map(|v| v.revisions.as_slice());
            for (label, fingerprint) in revisions.unwrap_or_default() {
                println!("revision {label} {fingerprint}");
            }
            Ok(())
        }
        Command::Gen { .. } | Command::Registry { .. } => {
            unreachable!("gen and registry run before the runtime starts")
        }
        Command::Check {
            schema, includes, ..
        } => {
            let s = Schema::load(&evolution::paths(schema)?, &includes)?;
            print_methods(&s);
            Ok(())
        }
    }
}

fn parse_metadata(entries: &[String]) -> Result<Metadata, Error> {
    let mut md = Metadata::new();
    for e in entries {
        let (k, v) = e
            .split_once('=')
            .or_else(|| e.split_once(':'))
            .ok_or_else(|| {
                Error::new(
                    hms_ffi_core::Code::InvalidArgument,
                    format!("metadata {e:?} must be key=value"),
                )
            })?;
        md.insert(k.trim(), v.trim());
    }
    Ok(md)
}

fn print_methods(schema: &Schema) {
    for service in schema.services() {
        println!("{service}");
        for m in schema
            .methods()
            .into_iter()
            .filter(|m| m.service() == service)
        {
            let kind = match m.kind() {
                StreamingKind::Unary => String::new(),
                k => format!(" [{}]", k.name()),
            };
            println!(
                "  {}({}) returns ({}){kind}",
                m.name,
                m.input().full_name(),
                m.output().full_name()
            );
        }
    }
}
