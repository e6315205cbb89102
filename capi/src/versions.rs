//! Versions at connect (`docs/evolution.md`): connecting with the schema the caller was built
//! against, what the server announced and which methods its schema breaks, and a server's
//! registry subject and version. The core does the check and refuses the broken methods; these
//! functions carry its results as JSON.

use std::ffi::c_char;

use crate::client::HmsClient;
use crate::error::{guard, text, HmsError};
use crate::ocore::{self, call::SchemaVersion, runtime, Code, Error};
use crate::schema::HmsSchema;
use crate::server::HmsServer;
use crate::HmsBytes;

/// `hms_connect_all` with `expect_schema` (NULL: none), the schema the caller was built
/// against: the methods the server's schema breaks are listed by
/// `hms_client_incompatible_methods`, and a call to one fails with `FAILED_PRECONDITION`
/// (reason `INCOMPATIBLE_SCHEMA`) before anything is sent.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hms_connect_all_expecting(
    uris: *const *const c_char,
    n: usize,
    schema: *const HmsSchema,
    resilience: *const c_char,
    expect_schema: *const HmsSchema,
    out: *mut *mut HmsClient,
    err: *mut *mut HmsError,
) -> i32 {
    let none = std::ptr::null();
    crate::hms_connect_all_converting(uris, n, schema, resilience, expect_schema, none, out, err)
}

/// `hms_connect_all_expecting` with the converters `converters_json` names (NULL: none; see
/// `hms_converter_error` and docs/converters.md): in [`HmsFormat::Value`](crate::HmsFormat)
/// calls, converter `i`'s values of the reply come inside CBOR tag `HMS_CONVERTED_TAG + i`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hms_connect_all_converting(
    uris: *const *const c_char,
    n: usize,
    schema: *const HmsSchema,
    resilience: *const c_char,
    expect_schema: *const HmsSchema,
    converters_json: *const c_char,
    out: *mut *mut HmsClient,
    err: *mut *mut HmsError,
) -> i32 {
    let none = std::ptr::null();
    crate::hms_connect_all_at_revision(
        uris,
        n,
        schema,
        resilience,
        expect_schema,
        converters_json,
        none,
        out,
        err,
    )
}

/// `hms_connect_all_converting` speaking the schema revision `revision` (NULL: the server's
/// main schema, or the revision `expect_schema` is): a label or fingerprint the server
/// announces. The client uses that revision's schema and every call carries the
/// `hms-schema-revision` metadata entry; a revision the server does not serve is
/// `FAILED_PRECONDITION` (reason `UNKNOWN_SCHEMA_REVISION`).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hms_connect_all_at_revision(
    uris: *const *const c_char,
    n: usize,
    schema: *const HmsSchema,
    resilience: *const c_char,
    expect_schema: *const HmsSchema,
    converters_json: *const c_char,
    revision: *const c_char,
    out: *mut *mut HmsClient,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        if out.is_null() {
            return Err(Error::new(Code::InvalidArgument, "out is NULL"));
        }
        // An empty list is the core's to refuse (as it does for every binding).
        let all = match n {
            0 => &[][..],
            _ if uris.is_null() => return Err(Error::new(Code::InvalidArgument, "uris is NULL")),
            _ => std::slice::from_raw_parts(uris, n),
        };
        let all: Vec<&str> = all
            .iter()
            .map(|u| text(*u, "uri"))
            .collect::<Result<_, _>>()?;
        let resilience = if resilience.is_null() {
            ocore::Resilience::default()
        } else {
            ocore::Resilience::from_json(text(resilience, "resilience")?)?
        };
        let options = ocore::ConnectOptions {
            schema: schema.as_ref().map(|s| s.0.clone()),
            resilience,
            expect_schema: expect_schema.as_ref().map(|s| s.0.clone()),
            converters: crate::converters::registry(converters_json)?,
            revision: match revision.is_null() {
                true => None,
                false => Some(text(revision, "revision")?.to_string()),
            },
            ..Default::default()
        };
        let client = runtime::block_on(ocore::connect_all(&all, options))??;
        *out = Box::into_raw(Box::new(HmsClient(client)));
        Ok(())
    })
}

fn version_json(v: &SchemaVersion) -> serde_json::Value {
    serde_json::json!({"fingerprint": v.fingerprint, "subject": v.subject, "version": v.version})
}

/// The schema version the server announced in discovery, as JSON into `out` (free with
/// `hms_bytes_free`): `{"fingerprint", "subject", "version"}` (subject `""` and version 0
/// when the server does not know them), or `null` when the schema was given, not discovered.
#[no_mangle]
pub unsafe extern "C" fn hms_client_schema_version(
    client: *const HmsClient,
    out: *mut HmsBytes,
) -> i32 {
    let (Some(c), false) = (client.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    let v = c.0.schema_version().map(version_json);
    let json = v.unwrap_or(serde_json::Value::Null).to_string();
    *out = HmsBytes::from_vec(json.into_bytes());
    0
}

/// The methods of the expected schema that the server's schema breaks, as JSON into `out`
/// (free with `hms_bytes_free`): `{"pkg.Service/Method": ["path:line:column:RULE_ID message",
/// …], …}`, `{}` when none is.
#[no_mangle]
pub unsafe extern "C" fn hms_client_incompatible_methods(
    client: *const HmsClient,
    out: *mut HmsBytes,
) -> i32 {
    let (Some(c), false) = (client.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    let found = c.0.incompatible_method_texts().into_iter();
    let map: serde_json::Map<String, serde_json::Value> =
        found.map(|(m, f)| (m, f.into())).collect();
    *out = HmsBytes::from_vec(serde_json::Value::Object(map).to_string().into_bytes());
    0
}

/// The schema version the server's discovery announces, as JSON into `out` (free with
/// `hms_bytes_free`): `{"fingerprint", "subject", "version"}`.
#[no_mangle]
pub unsafe extern "C" fn hms_server_schema_version(
    server: *const HmsServer,
    out: *mut HmsBytes,
) -> i32 {
    let (Some(s), false) = (server.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    *out = HmsBytes::from_vec(version_json(&s.0.schema_version()).to_string().into_bytes());
    0
}

/// Records the schema registry `subject` and `version` of the schema served; discovery
/// announces them from now on.
#[no_mangle]
pub unsafe extern "C" fn hms_server_set_schema_version(
    server: *const HmsServer,
    subject: *const c_char,
    version: u32,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = server
            .as_ref()
            .ok_or_else(|| Error::new(Code::InvalidArgument, "server is NULL"))?;
        s.0.set_schema_version(text(subject, "subject")?, version);
        Ok(())
    })
}
