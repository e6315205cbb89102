//! `hms-ffi serve`: the server options its flags make, and the server it runs (every method
//! whose request and response types are equal echoed with `--echo`).

use std::path::PathBuf;
use std::time::Duration;

use hms_ffi_core::security::AuditLog;
use hms_ffi_core::{Code, Error, Policy, Schema, Server, ServerOptions, StreamingKind};

/// Server options from `--security`, `--policy`, `--audit` and `--service-config` (a file
/// that cannot be read, or whose config is refused, is `INVALID_ARGUMENT`).
pub(crate) fn server_options(
    security: Option<PathBuf>,
    policy: Option<PathBuf>,
    audit: Option<PathBuf>,
    service_config: Option<PathBuf>,
) -> Result<ServerOptions, Error> {
    let mut options = match security {
        Some(path) => ServerOptions::from_security_file(path)?,
        None => ServerOptions::default(),
    };
    if let Some(path) = service_config {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let shown = path.display();
            Error::new(Code::InvalidArgument, format!("cannot read {shown}: {e}"))
        })?;
        options = options.with_service_config(&text)?;
    }
    if policy.is_none() && audit.is_none() {
        return Ok(options);
    }
    let mut sec = options.security.as_deref().cloned().unwrap_or_default();
    if let Some(path) = policy {
        sec = sec.with_policy(Policy::from_file(&path)?);
    }
    if let Some(path) = audit {
        sec = sec.with_audit(AuditLog::to_file(&path, 0)?);
    }
    Ok(options.with_security(sec))
}

pub(crate) async fn serve(
    schema: Vec<PathBuf>,
    includes: Vec<PathBuf>,
    (listen, admin): (Vec<String>, Option<String>),
    echo: bool,
    revisions: Vec<String>,
    options: ServerOptions,
) -> Result<(), Error> {
    let schema = Schema::load(&schema, &includes)?;
    let server = Server::with_options(schema.clone(), options);
    let mut served = if echo { echo_all(&server)? } else { 0 };
    for r in &revisions {
        let (label, file) = r.split_once('=').ok_or_else(|| {
            Error::new(
                hms_ffi_core::Code::InvalidArgument,
                format!("--revision {r:?} must be LABEL=FILE.proto"),
            )
        })?;
        let fingerprint = server.add_revision(label, Schema::load(&[file], &includes)?)?;
        eprintln!("revision {label} {fingerprint}");
        if echo {
            served += echo_all(&server.revision(label)?)?;
        }
    }
    for uri in &listen {
        let bound = server.listen(uri)?;
        eprintln!("listening on {bound} ({served} methods echoed)");
    }
    if let Some(admin) = admin {
        let bound = server.admin(&admin)?;
        eprintln!("admin on {bound} (/metrics, /healthz)");
    }
    server.serve_until_signal(Duration::from_secs(5)).await?;
    eprintln!("stopped");
    Ok(())
}

/// Registers an echo handler on `server` (or a revision handle) for every method of its schema
/// whose request and response types are the same; returns how many.
fn echo_all(server: &Server) -> Result<usize, Error> {
    let mut served = 0;
    for m in server.schema().methods() {
        if m.input().full_name() != m.output().full_name() {
            eprintln!(
                "not echoing {} ({} -> {})",
                m.name,
                m.input().full_name(),
                m.output().full_name()
            );
            continue;
        }
        match m.kind() {
            StreamingKind::Unary => server.unary(&m.name, |req, _ctx| async move { Ok(req) })?,
            StreamingKind::ServerStreaming => server
                .server_streaming(&m.name, |req, sink, _ctx| async move { sink.send(&req) })?,
            StreamingKind::ClientStreaming => {
                server.client_streaming(&m.name, |mut input, _ctx| async move {
                    let mut last = hms_ffi_core::Value::Null;
                    while let Some(v) = input.next().await {
                        last = v?;
                    }
                    Ok(last)
                })?
            }
            StreamingKind::Bidi => {
                server.bidi_streaming(&m.name, |mut input, sink, _ctx| async move {
                    while let Some(v) = input.next().await {
                        sink.send(&v?)?;
                    }
                    Ok(())
                })?
            }
        }
        served += 1;
    }
    Ok(served)
}
