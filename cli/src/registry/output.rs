//! How `hms-ffi registry` prints: a reply as text lines or as protobuf JSON (field names as in
//! `registry.proto`, defaults included), an error with the exit status its code calls for.

use std::process::ExitCode;

use hms_ffi_core::registry::messages as pb;
use hms_ffi_core::registry::{registry_schema, INCOMPATIBLE_SCHEMA};
use hms_ffi_core::{Code, Error};
use prost::Message;
use prost_reflect::{DynamicMessage, SerializeOptions};

/// The schema is incompatible with its subject.
const INCOMPATIBLE: u8 = 1;
/// Bad input: a schema, subject, version, mode or database that cannot be used.
pub(crate) const BAD_INPUT: u8 = 3;
/// The registry failed or could not be reached.
const REGISTRY_FAILED: u8 = 4;

/// A reply's text form, one line per item.
pub(crate) trait Text {
    /// The lines.
    fn lines(&self) -> Vec<String>;
}

fn version_line(v: &pb::SchemaVersion) -> String {
    let mut line = format!("{} v{} {}", v.subject, v.version, v.fingerprint);
    if v.deprecated {
        line.push_str(&format!(" deprecated: {}", v.deprecation_reason));
    }
    line
}

impl Text for pb::SchemaVersion {
    fn lines(&self) -> Vec<String> {
        vec![version_line(self)]
    }
}

impl Text for pb::RegisterResponse {
    fn lines(&self) -> Vec<String> {
        let v = self.version.as_ref().map(version_line).unwrap_or_default();
        match self.created {
            true => vec![format!("registered {v}")],
            false => vec![format!("already registered {v}")],
        }
    }
}

impl Text for pb::ListSubjectsResponse {
    fn lines(&self) -> Vec<String> {
        let line = |s: &pb::SubjectInfo| {
            format!(
                "{} v{} {} {}",
                s.subject, s.latest_version, s.mode, s.category
            )
        };
        self.subjects.iter().map(line).collect()
    }
}

impl Text for pb::ListVersionsResponse {
    fn lines(&self) -> Vec<String> {
        self.versions.iter().map(version_line).collect()
    }
}

impl Text for pb::SubjectConfig {
    fn lines(&self) -> Vec<String> {
        vec![format!("{} {} {}", self.subject, self.mode, self.category)]
    }
}

/// Prints `reply` (a `hms.ffi.v1.<name>`) as text or JSON.
pub(crate) fn print_reply<M: Message + Text>(
    reply: &M,
    json: bool,
    name: &str,
) -> Result<(), Error> {
    if !json {
        for line in reply.lines() {
            println!("{line}");
        }
        return Ok(());
    }
    let schema = registry_schema()?;
    let desc = schema
        .message(&format!("hms.ffi.v1.{name}"))
        .ok_or_else(|| Error::new(Code::Internal, format!("no message hms.ffi.v1.{name}")))?;
    let dynamic = DynamicMessage::decode(desc, reply.encode_to_vec().as_slice())
        .map_err(|e| Error::new(Code::Internal, format!("{name}: {e}")))?;
    let options = SerializeOptions::new()
        .skip_default_fields(false)
        .use_proto_field_name(true);
    let mut out = serde_json::Serializer::new(std::io::stdout().lock());
    dynamic
        .serialize_with_options(&mut out, &options)
        .map_err(|e| Error::new(Code::Internal, format!("{name} as JSON: {e}")))?;
    println!();
    Ok(())
}

/// Reports `e` (on stdout as JSON with `--json`, always on stderr) and gives the exit status.
pub(crate) fn fail(e: &Error, json: bool) -> ExitCode {
    let info = e.details().error_info.as_ref();
    let reason = info.map_or("", |i| i.reason.as_str());
    let meta = |key: &str| -> Vec<String> {
        info.and_then(|i| i.metadata.get(key))
            .map(|v| {
                v.split([',', '\n'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let findings: Vec<String> = info
        .and_then(|i| i.metadata.get("findings"))
        .map(|f| f.lines().map(str::to_string).collect())
        .unwrap_or_default();
    if json {
        let doc = serde_json::json!({ "error": {
            "code": e.code().to_string(),
            "message": e.message(),
            "reason": reason,
            "rules": meta("rules"),
            "findings": findings,
        }});
        println!("{doc}");
    }
    match findings.is_empty() {
        true => eprintln!("{}: {}", e.code(), e.message()),
        false => {
            eprintln!("{}: schema incompatible with its subject", e.code());
            for f in &findings {
                eprintln!("  {f}");
            }
        }
    }
    for v in e.field_violations() {
        eprintln!("  {}: {}", v.field, v.description);
    }
    let status = match e.code() {
        Code::FailedPrecondition if reason == INCOMPATIBLE_SCHEMA => INCOMPATIBLE,
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::OutOfRange => {
            BAD_INPUT
        }
        _ => REGISTRY_FAILED,
    };
    ExitCode::from(status)
}
