//! Servers with foreign handlers.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::call::HmsCall;
use crate::error::{c_string, guard, obj, text, HmsError};
use crate::ocore::handler::{BoxFuture, NativeHandler};
use crate::ocore::later::reply_later;
use crate::ocore::mapping::CborOut;
use crate::ocore::Exchange;
use crate::ocore::{self, Code, Error};
use crate::schema::HmsSchema;
use crate::HmsFormat;

/// A server.
#[derive(Debug)]
pub struct HmsServer(pub(crate) Arc<ocore::Server>);

/// A handler: called on an hms-ffi thread for each call with the request in the format it was
/// registered with. It must complete `call` exactly once, with [`crate::hms_call_reply`] or
/// [`crate::hms_call_fail`], from any thread, now or later; it must not block for long (hand
/// the work to your own threads). `request` is valid only during the callback.
pub type HmsHandlerFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        call: *mut HmsCall,
        request: *const u8,
        len: usize,
    ),
>;

/// The foreign function and its data; the caller promises both may be used from any thread.
#[derive(Clone, Copy)]
struct Foreign {
    f: unsafe extern "C" fn(*mut c_void, *mut HmsCall, *const u8, usize),
    user_data: *mut c_void,
    /// Registered with [`hms_server_handle_blocking`]: the handler may block where it runs.
    blocking: bool,
}

// SAFETY: the header's contract requires handlers and their user data to be thread-safe.
unsafe impl Send for Foreign {}
unsafe impl Sync for Foreign {}

impl Foreign {
    /// Runs the handler on `request` (protobuf, or CBOR when `exchange` is given to walk the
    /// CBOR reply with); the reply's protobuf bytes.
    async fn run(
        self,
        request: &[u8],
        exchange: Option<Arc<Exchange>>,
        ctx: ocore::Context,
    ) -> ocore::Result<Bytes> {
        let (later, reply) = reply_later();
        let call = HmsCall {
            ctx,
            exchange,
            reply: later,
        };
        let (f, user_data) = (self.f, self.user_data);
        // SAFETY: the call is handed over to the handler, which completes (and frees) it.
        let run = move || unsafe {
            f(
                user_data,
                Box::into_raw(Box::new(call)),
                request.as_ptr(),
                request.len(),
            )
        };
        if self.blocking {
            ocore::handler::run_inline(run);
        } else {
            run();
        }
        reply.await
    }
}

/// A handler of CBOR: the request's protobuf walked straight to CBOR for it, and its CBOR
/// reply straight to protobuf ([`crate::hms_call_reply`]), with no value tree.
impl NativeHandler for Foreign {
    fn call(
        &self,
        request: Bytes,
        exchange: Arc<Exchange>,
        ctx: ocore::Context,
    ) -> BoxFuture<'static, ocore::Result<Bytes>> {
        let foreign = *self;
        Box::pin(async move {
            let mut out = CborOut::default();
            let span = exchange.request(&request, &mut out)??;
            let cbor = out.finish(span);
            foreign.run(&cbor, Some(exchange), ctx).await
        })
    }
}

/// Creates a server for `schema`. `language` names the handlers' language for error origins
/// (`go`, `c`, …; NULL for `c`).
#[no_mangle]
pub unsafe extern "C" fn hms_server_new(
    schema: *const HmsSchema,
    language: *const c_char,
    out: *mut *mut HmsServer,
    err: *mut *mut HmsError,
) -> i32 {
    hms_server_new_with_security(schema, language, std::ptr::null(), out, err)
}

/// [`hms_server_new`] with the settings of a security file (policy, bearer tokens, limits,
/// audit; see docs/security.md) at `security_path`, or none when it is NULL. A file that
/// cannot be read or has an unknown key fails with `INVALID_ARGUMENT` (or the read error).
#[no_mangle]
pub unsafe extern "C" fn hms_server_new_with_security(
    schema: *const HmsSchema,
    language: *const c_char,
    security_path: *const c_char,
    out: *mut *mut HmsServer,
    err: *mut *mut HmsError,
) -> i32 {
    let none = std::ptr::null();
    hms_server_new_converting(schema, language, security_path, none, out, err)
}

/// [`hms_server_new_with_security`] with the converters `converters_json` names (NULL: none;
/// see `hms_converter_error` and docs/converters.md): in [`HmsFormat::Value`] handlers,
/// converter `i`'s values of the request come inside CBOR tag `HMS_CONVERTED_TAG + i`.
#[no_mangle]
pub unsafe extern "C" fn hms_server_new_converting(
    schema: *const HmsSchema,
    language: *const c_char,
    security_path: *const c_char,
    converters_json: *const c_char,
    out: *mut *mut HmsServer,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let schema = obj(schema, "schema")?;
        let language = if language.is_null() {
            "c"
        } else {
            text(language, "language")?
        };
        let security = if security_path.is_null() {
            None
        } else {
            Some(text(security_path, "security_path")?.into())
        };
        let options = ocore::BindingOptions {
            security,
            converters: crate::converters::registry(converters_json)?,
            ..Default::default()
        };
        let options = ocore::ServerOptions::for_binding(language, options)?;
        if out.is_null() {
            return Err(Error::new(Code::InvalidArgument, "out is NULL"));
        }
        *out = Box::into_raw(Box::new(HmsServer(Arc::new(ocore::Server::with_options(
            schema.0.clone(),
            options,
        )))));
        Ok(())
    })
}

/// Sets the gRPC service config (JSON text) the server announces in discovery: clients that
/// discover its schema and were given no config of their own retry and time out by it
/// (docs/resilience.md). Checked with the client's parser: a bad one fails with
/// `INVALID_ARGUMENT` (reason `BAD_SERVICE_CONFIG`) and the config announced so far stays.
/// Clients that connected before keep what they read.
#[no_mangle]
pub unsafe extern "C" fn hms_server_set_service_config(
    server: *const HmsServer,
    json: *const c_char,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let s = obj(server, "server")?;
        s.0.set_service_config(text(json, "json")?)
    })
}

/// Registers `handler` for the unary method `method`, exchanging messages in `format`. The
/// handler must return quickly (see [`HmsHandlerFn`]).
#[no_mangle]
pub unsafe extern "C" fn hms_server_handle(
    server: *const HmsServer,
    method: *const c_char,
    format: HmsFormat,
    handler: HmsHandlerFn,
    user_data: *mut c_void,
    err: *mut *mut HmsError,
) -> i32 {
    register(server, method, format, handler, user_data, false, err)
}

/// [`hms_server_handle`] for a handler that does its work before it returns, and may block
/// for as long as that takes. It runs on the thread that read the call — on `inproc://` the
/// caller's own thread — so a call costs no thread hand-off; while it blocks, hms-ffi serves
/// other calls and connections from other threads. It still completes `call` exactly once
/// (usually before returning).
#[no_mangle]
pub unsafe extern "C" fn hms_server_handle_blocking(
    server: *const HmsServer,
    method: *const c_char,
    format: HmsFormat,
    handler: HmsHandlerFn,
    user_data: *mut c_void,
    err: *mut *mut HmsError,
) -> i32 {
    register(server, method, format, handler, user_data, true, err)
}

unsafe fn register(
    server: *const HmsServer,
    method: *const c_char,
    format: HmsFormat,
    handler: HmsHandlerFn,
    user_data: *mut c_void,
    blocking: bool,
    err: *mut *mut HmsError,
) -> i32 {
    guard(err, || {
        let (server, method, f) = registration(server, method, handler)?;
        let foreign = Foreign {
            f,
            user_data,
            blocking,
        };
        match format {
            HmsFormat::Proto => server
                .0
                .unary_raw(method, move |req: Bytes, ctx| async move {
                    foreign.run(&req, None, ctx).await
                }),
            HmsFormat::Value => server.0.unary_native(method, Arc::new(foreign)),
        }
    })
}

/// A registration's arguments, checked: the server, the method's name and the handler.
pub(crate) unsafe fn registration<'a, F>(
    server: *const HmsServer,
    method: *const c_char,
    handler: Option<F>,
) -> Result<(&'a HmsServer, &'a str, F), Error> {
    let server = obj(server, "server")?;
    let method = text(method, "method")?;
    let f = handler.ok_or_else(|| Error::new(Code::InvalidArgument, "handler is NULL"))?;
    Ok((server, method, f))
}

/// Listens on `uri` (`inproc://name`, `unix:///path.sock`); may be called for several URIs.
/// When `bound` is not NULL it receives the endpoint as bound (free with `hms_string_free`).
#[no_mangle]
pub unsafe extern "C" fn hms_server_listen(
    server: *const HmsServer,
    uri: *const c_char,
    bound: *mut *mut c_char,
    err: *mut *mut HmsError,
) -> i32 {
    bind_uri(server, uri, bound, err, |s, uri| s.0.listen(uri))
}

/// Runs `bind` (listen, start the admin listener) on `server` with `uri`; the URI bound goes
/// into `bound` when it is not NULL (free with `hms_string_free`).
pub(crate) unsafe fn bind_uri(
    server: *const HmsServer,
    uri: *const c_char,
    bound: *mut *mut c_char,
    err: *mut *mut HmsError,
    bind: impl FnOnce(&HmsServer, &str) -> Result<String, Error>,
) -> i32 {
    guard(err, || {
        let uri = bind(obj(server, "server")?, text(uri, "uri")?)?;
        if !bound.is_null() {
            *bound = c_string(&uri);
        }
        Ok(())
    })
}

/// Graceful stop: refuses new calls, lets calls in flight finish for up to `grace_ms`, then
/// cancels the rest and closes every endpoint. Blocks until done.
#[no_mangle]
pub unsafe extern "C" fn hms_server_shutdown(server: *const HmsServer, grace_ms: u64) {
    if let Some(server) = server.as_ref() {
        let s = server.0.clone();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.shutdown_blocking(Duration::from_millis(grace_ms))
        }));
    }
}

/// Calls in flight on the server.
#[no_mangle]
pub unsafe extern "C" fn hms_server_inflight(server: *const HmsServer) -> usize {
    server.as_ref().map_or(0, |s| s.0.inflight())
}

/// Stops the server at once (if still running) and frees it (NULL-safe).
#[no_mangle]
pub unsafe extern "C" fn hms_server_free(server: *mut HmsServer) {
    if !server.is_null() {
        drop(Box::from_raw(server));
    }
}
