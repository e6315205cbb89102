//! Two versions side by side (`docs/evolution.md`): a server serving other revisions of its
//! schema beside the main one, registrations on a revision, a bridge from a revision's handler
//! to the main schema, and a client choosing its revision at connect. The core routes, checks
//! and transcodes; these functions pass names and schemas in and JSON out.

use std::ffi::c_char;
use std::sync::Arc;

use crate::client::HmsClient;
use crate::error::{c_string, guard, obj, text, HmsError};
use crate::ocore::{Code, Error};
use crate::schema::HmsSchema;
use crate::server::HmsServer;
use crate::HmsBytes;

/// Serves `schema` beside the main one as the revision `label`. A call speaks it when its
/// `hms-schema-revision` metadata entry names its label or fingerprint. When `fingerprint` is
/// not NULL it receives the revision's fingerprint (free with `hms_string_free`). An empty
/// label is `INVALID_ARGUMENT`; a label or schema already served `ALREADY_EXISTS`.
#[no_mangle]
pub unsafe extern "C" fn hms_server_add_revision(
    server: *const HmsServer,
    label: *const c_char,
    schema: *const HmsSchema,
    fingerprint: *mut *mut c_char,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let server = obj(server, "server")?;
        let schema = obj(schema, "schema")?;
        let found = server
            .0
            .add_revision(text(label, "label")?, schema.0.clone())?;
        if !fingerprint.is_null() {
            *fingerprint = c_string(&found);
        }
        Ok(())
    })
}

/// A handle on `server` whose registrations (`hms_server_handle`, `hms_server_handle_blocking`,
/// `hms_server_handle_stream`) go to the revision `label` (or fingerprint), checked against
/// its schema. Free it with `hms_server_free`, which leaves the server running; every other
/// function acts on the whole server. An unknown revision is `NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hms_server_revision(
    server: *const HmsServer,
    label: *const c_char,
    out: *mut *mut HmsServer,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        if out.is_null() {
            return Err(Error::new(Code::InvalidArgument, "out is NULL"));
        }
        let handle = obj(server, "server")?.0.revision(text(label, "label")?)?;
        *out = Box::into_raw(Box::new(HmsServer(Arc::new(handle))));
        Ok(())
    })
}

/// Serves the main schema's `method` with the handler registered for it in `revision`, after
/// checking that the method reads alike on the wire in both: otherwise `FAILED_PRECONDITION`
/// with reason `INCOMPATIBLE_SCHEMA` and the findings.
#[no_mangle]
pub unsafe extern "C" fn hms_server_bridge(
    server: *const HmsServer,
    revision: *const c_char,
    method: *const c_char,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let server = obj(server, "server")?;
        server
            .0
            .bridge(text(revision, "revision")?, text(method, "method")?)
    })
}

fn labels(revisions: &[(String, String)]) -> serde_json::Value {
    let map = revisions.iter().map(|(l, f)| (l.clone(), f.clone().into()));
    serde_json::Value::Object(map.collect())
}

/// The revisions served beside the main schema as JSON into `out` (free with
/// `hms_bytes_free`): `{"label": "sha256:…", …}`.
#[no_mangle]
pub unsafe extern "C" fn hms_server_revisions(server: *const HmsServer, out: *mut HmsBytes) -> i32 {
    let (Some(s), false) = (server.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    *out = HmsBytes::from_vec(labels(&s.0.revisions()).to_string().into_bytes());
    0
}

/// The revision this client speaks and those the server announced, as JSON into `out` (free
/// with `hms_bytes_free`): `{"revision": "sha256:…" or null, "revisions": {"label": "sha256:…"}}`.
#[no_mangle]
pub unsafe extern "C" fn hms_client_revision(client: *const HmsClient, out: *mut HmsBytes) -> i32 {
    let (Some(c), false) = (client.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    let announced = c.0.schema_version().map(|v| v.revisions.as_slice());
    let json = serde_json::json!({
        "revision": c.0.revision(),
        "revisions": labels(announced.unwrap_or_default()),
    });
    *out = HmsBytes::from_vec(json.to_string().into_bytes());
    0
}
