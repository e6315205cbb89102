//! `hms-ffi registry …`: serve a schema registry over a SQLite file or a NATS key-value
//! bucket, and a thin client of any registry (`hms_ffi_core::registry::RegistryClient`) for
//! each of its methods.
//!
//! ```text
//! hms-ffi registry serve --db registry.db --listen grpc://127.0.0.1:7070 [--security FILE]
//! hms-ffi registry serve --store nats://127.0.0.1:4222/REGISTRY --listen grpc://127.0.0.1:7070
//! hms-ffi registry register --registry grpc://127.0.0.1:7070 shop/ [--subject shop.v1] [-I DIR]
//! hms-ffi registry get --registry URI shop.v1 [--version N | --fingerprint sha256:…] [--out set.binpb]
//! hms-ffi registry list --registry URI [SUBJECT]
//! hms-ffi registry deprecate --registry URI shop.v1 1 [--reason TEXT]
//! hms-ffi registry mode --registry URI shop.v1 [MODE] [--category WIRE_JSON]
//! ```
//!
//! Exit status, as `hms-ffi check`'s: **0** done, **1** the schema is incompatible with its
//! subject (`FAILED_PRECONDITION`, `INCOMPATIBLE_SCHEMA`), **3** bad input (a schema that does
//! not compile or decode, an unknown subject, version or mode; for `serve`, a database that is
//! missing its folder, unreadable, corrupt, newer or locked, a NATS store it cannot reach, or
//! an address it cannot listen on), **4** the registry failed, refused or could not be
//! reached (`UNAVAILABLE` when its database stays locked, `PERMISSION_DENIED` from its
//! policy, …); 2 is clap's. `--json` prints one object: the reply, or
//! `{"error": {"code", "message", "reason", "rules", "findings"}}`.

mod output;
mod sqlite;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use hms_ffi_core::evolution::Image;
use hms_ffi_core::registry::{self as core_registry, NatsKvStore, RegistryClient, RegistryStore};
use hms_ffi_core::{Code, Error};

use output::{fail, print_reply};

/// The registry's subcommands.
#[derive(Subcommand)]
pub(crate) enum RegistryCommand {
    /// Serve a registry over a SQLite file (created when missing; its folder must exist), or
    /// over a NATS JetStream key-value bucket shared by registries on many machines.
    Serve {
        /// The SQLite database.
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        db: Option<PathBuf>,
        /// A NATS key-value bucket instead: nats://host:port/BUCKET (created when missing).
        #[arg(long)]
        store: Option<String>,
        /// Endpoints to listen on (repeatable), as for `hms-ffi serve`.
        #[arg(long, required = true)]
        listen: Vec<String>,
        /// Security file (TOML; see docs/security.md): the registry is an ordinary service.
        #[arg(long)]
        security: Option<PathBuf>,
        /// How long a registration waits for a database locked by another process.
        #[arg(long, default_value = "5000")]
        busy_timeout_ms: u64,
    },
    /// Register a schema: a .proto file, a directory of them, or (--descriptor-set) a
    /// serialized FileDescriptorSet.
    Register {
        #[command(flatten)]
        target: Target,
        /// The schema.
        schema: PathBuf,
        /// The subject (a package of the schema); by default its one package.
        #[arg(long, default_value = "")]
        subject: String,
        /// Include directories for imports.
        #[arg(long = "include", short = 'I')]
        includes: Vec<PathBuf>,
        /// The schema is a serialized FileDescriptorSet (protoc -o, buf build -o).
        #[arg(long)]
        descriptor_set: bool,
    },
    /// Fetch a version (the latest by default), or the version with a fingerprint.
    Get {
        #[command(flatten)]
        target: Target,
        /// The subject.
        #[arg(default_value = "")]
        subject: String,
        /// The version; 0 for the latest.
        #[arg(long, default_value = "0")]
        version: u32,
        /// Fetch by fingerprint instead (sha256:…).
        #[arg(long, default_value = "")]
        fingerprint: String,
        /// Write the version's FileDescriptorSet to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the subjects, or one subject's versions.
    List {
        #[command(flatten)]
        target: Target,
        /// The subject whose versions to list.
        subject: Option<String>,
    },
    /// Deprecate a version (it stays fetchable; compatibility checks skip it).
    Deprecate {
        #[command(flatten)]
        target: Target,
        /// The subject.
        subject: String,
        /// The version.
        version: u32,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Show a subject's compatibility mode, or set it (and/or --category).
    Mode {
        #[command(flatten)]
        target: Target,
        /// The subject.
        subject: String,
        /// BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE.
        mode: Option<String>,
        /// The rules: FILE, PACKAGE, WIRE_JSON or WIRE.
        #[arg(long)]
        category: Option<String>,
    },
}

/// Where the registry is and how to print.
#[derive(Args)]
pub(crate) struct Target {
    /// The registry's endpoint (unix://, grpc://, http://, ws://, nats://, …).
    #[arg(long)]
    registry: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each call.
    #[arg(long, default_value = "30")]
    timeout: f64,
}

/// Runs a registry subcommand and gives its exit status.
pub(crate) fn run(command: RegistryCommand) -> ExitCode {
    let runtime = hms_ffi_core::runtime::runtime();
    match command {
        RegistryCommand::Serve {
            db,
            store,
            listen,
            security,
            busy_timeout_ms,
        } => match runtime.block_on(serve(db, store, listen, security, busy_timeout_ms)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                fail(&e, false);
                ExitCode::from(output::BAD_INPUT)
            }
        },
        command => {
            let json = match &command {
                RegistryCommand::Register { target, .. }
                | RegistryCommand::Get { target, .. }
                | RegistryCommand::List { target, .. }
                | RegistryCommand::Deprecate { target, .. }
                | RegistryCommand::Mode { target, .. } => target.json,
                RegistryCommand::Serve { .. } => false,
            };
            match runtime.block_on(client_command(command)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e, json),
            }
        }
    }
}

async fn serve(
    db: Option<PathBuf>,
    store: Option<String>,
    listen: Vec<String>,
    security: Option<PathBuf>,
    busy_timeout_ms: u64,
) -> Result<(), Error> {
    let options = crate::serve::server_options(security, None, None, None)?;
    let (store, kept_in): (Arc<dyn RegistryStore>, String) = match (db, store) {
        (_, Some(uri)) => (Arc::new(NatsKvStore::open(&uri).await?), uri),
        (Some(db), None) => {
            let busy = Duration::from_millis(busy_timeout_ms);
            let kept_in = format!("database {}", db.display());
            (Arc::new(sqlite::SqliteStore::open(&db, busy)?), kept_in)
        }
        (None, None) => {
            return Err(Error::new(
                Code::InvalidArgument,
                "--db or --store is required",
            ))
        }
    };
    let server = core_registry::server(store, options)?;
    for uri in &listen {
        let bound = server.listen(uri)?;
        eprintln!("registry listening on {bound} ({kept_in})");
    }
    server.serve_until_signal(Duration::from_secs(5)).await?;
    eprintln!("stopped");
    Ok(())
}

async fn connect(target: &Target) -> Result<RegistryClient, Error> {
    let timeout = Duration::try_from_secs_f64(target.timeout)
        .map_err(|e| Error::new(Code::InvalidArgument, format!("--timeout: {e}")))?;
    Ok(RegistryClient::connect(&target.registry)
        .await?
        .with_timeout(timeout))
}

async fn client_command(command: RegistryCommand) -> Result<(), Error> {
    match command {
        RegistryCommand::Register {
            target,
            schema,
            subject,
            includes,
            descriptor_set,
        } => {
            let bytes = if descriptor_set {
                std::fs::read(&schema)
                    .map_err(|e| Error::new(Code::NotFound, format!("{}: {e}", schema.display())))?
            } else {
                Image::load(&schema, &includes)?.to_descriptor_set()
            };
            let reply = connect(&target).await?.register(&subject, bytes).await?;
            print_reply(&reply, target.json, "RegisterResponse")
        }
        RegistryCommand::Get {
            target,
            subject,
            version,
            fingerprint,
            out,
        } => {
            let client = connect(&target).await?;
            let reply = match fingerprint.is_empty() {
                true => client.get(&subject, version).await?,
                false => client.get_by_fingerprint(&fingerprint).await?,
            };
            if let Some(out) = out {
                std::fs::write(&out, &reply.descriptor_set).map_err(|e| {
                    Error::new(Code::InvalidArgument, format!("{}: {e}", out.display()))
                })?;
            }
            print_reply(&reply, target.json, "SchemaVersion")
        }
        RegistryCommand::List { target, subject } => {
            let client = connect(&target).await?;
            match subject {
                None => {
                    let subjects = client.subjects().await?;
                    let reply = core_registry::messages::ListSubjectsResponse { subjects };
                    print_reply(&reply, target.json, "ListSubjectsResponse")
                }
                Some(subject) => {
                    let versions = client.versions(&subject).await?;
                    let reply = core_registry::messages::ListVersionsResponse { versions };
                    print_reply(&reply, target.json, "ListVersionsResponse")
                }
            }
        }
        RegistryCommand::Deprecate {
            target,
            subject,
            version,
            reason,
        } => {
            let reply = connect(&target)
                .await?
                .deprecate(&subject, version, &reason)
                .await?;
            print_reply(&reply, target.json, "SchemaVersion")
        }
        RegistryCommand::Mode {
            target,
            subject,
            mode,
            category,
        } => {
            let client = connect(&target).await?;
            let reply = match (mode, category) {
                (None, None) => client.mode(&subject).await?,
                (mode, category) => {
                    let (m, c) = (mode.unwrap_or_default(), category.unwrap_or_default());
                    client.set_mode(&subject, &m, &c).await?
                }
            };
            print_reply(&reply, target.json, "SubjectConfig")
        }
        RegistryCommand::Serve { .. } => Err(Error::new(Code::Internal, "serve is no client")),
    }
}
