//! Connecting with the core's resilience options (several endpoints, reconnect backoff, retry
//! and hedging policies, keepalive, load balancing: `docs/resilience.md`), a client's
//! connection state, and the admin listener. The options are the core's own JSON text, so the
//! C ABI carries no rule of its own.

use std::ffi::{c_char, CStr};

use crate::client::HmsClient;
use crate::error::HmsError;
use crate::ocore::{Code, ConnState};
use crate::schema::HmsSchema;
use crate::server::{bind_uri, HmsServer};
use crate::HmsBytes;

/// Connects to the `n` endpoint URIs in `uris` (of one service). `schema` (NULL: discover it
/// from the server) as in `hms_connect_with_schema`;
/// `resilience` (NULL: the defaults) is the core's options as JSON — bad JSON or an unknown
/// key fails with `INVALID_ARGUMENT` before anything connects.
#[no_mangle]
pub unsafe extern "C" fn hms_connect_all(
    uris: *const *const c_char,
    n: usize,
    schema: *const HmsSchema,
    resilience: *const c_char,
    out: *mut *mut HmsClient,
    err: *mut *mut HmsError,
) -> i32 {
    let none = std::ptr::null();
    crate::hms_connect_all_expecting(uris, n, schema, resilience, none, out, err)
}

/// [`ConnState::name`] as a static C string (the test below keeps the two the same).
fn state_name(state: ConnState) -> &'static CStr {
    match state {
        ConnState::Idle => c"idle",
        ConnState::Connecting => c"connecting",
        ConnState::Ready => c"ready",
        ConnState::TransientFailure => c"transient_failure",
        ConnState::Shutdown => c"shutdown",
    }
}

/// The client's connection state, a static string (do not free): `idle` (lost; the next call
/// reconnects), `connecting`, `ready`, `transient_failure` (waiting to retry) or `shutdown`;
/// with several endpoints, the best of theirs. NULL for a NULL client.
#[no_mangle]
pub unsafe extern "C" fn hms_client_state(client: *const HmsClient) -> *const c_char {
    match client.as_ref() {
        Some(c) => state_name(c.0.state()).as_ptr(),
        None => std::ptr::null(),
    }
}

/// Where the client's calls go now, while it is connected (free with `hms_string_free`): for
/// `auto://NAME` the transport it picked (`inproc://NAME`, `shm://NAME`, a `unix://` socket or
/// a network URI), else the endpoint itself. NULL while no connection is up, or for a NULL
/// client.
#[no_mangle]
pub unsafe extern "C" fn hms_client_transport(client: *const HmsClient) -> *mut c_char {
    match client.as_ref().and_then(|c| c.0.transport()) {
        Some(t) => crate::error::c_string(&t),
        None => std::ptr::null_mut(),
    }
}

/// Each endpoint given to `hms_connect_all`, in order, as JSON into `out` (free with
/// `hms_bytes_free`): `[{"uri", "state", "ejected", "connected"}, …]`, `connected` being
/// what `hms_client_transport` says of that endpoint (null while it is down).
#[no_mangle]
pub unsafe extern "C" fn hms_client_endpoints(client: *const HmsClient, out: *mut HmsBytes) -> i32 {
    let (Some(c), false) = (client.as_ref(), out.is_null()) else {
        return Code::InvalidArgument.as_i32();
    };
    let list: Vec<serde_json::Value> =
        c.0.endpoints()
            .into_iter()
            .map(|e| {
                let state = e.state.name();
                serde_json::json!({"uri": e.endpoint, "state": state, "ejected": e.ejected,
                    "connected": e.connected})
            })
            .collect();
    *out = HmsBytes::from_vec(serde_json::Value::Array(list).to_string().into_bytes());
    0
}

/// Starts the admin listener on `uri` (`http://host:port`; port 0 picks a free one):
/// `/metrics` (Prometheus text), `/healthz` and the live monitoring page at `/`. It stops with
/// the server. When `bound` is not NULL it receives the URI bound (free with `hms_string_free`).
#[no_mangle]
pub unsafe extern "C" fn hms_server_admin(
    server: *const HmsServer,
    uri: *const c_char,
    bound: *mut *mut c_char,
    err: *mut *mut HmsError,
) -> i32 {
    bind_uri(server, uri, bound, err, |s, uri| s.0.admin(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_the_cores_name() {
        use ConnState::*;
        for state in [Idle, Connecting, Ready, TransientFailure, Shutdown] {
            assert_eq!(state_name(state).to_str(), Ok(state.name()));
        }
    }
}
