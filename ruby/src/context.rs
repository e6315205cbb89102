//! `HmsFfi::Context`: what a handler sees besides the request.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use magnus::time::{Offset, Timespec};
use magnus::{method, prelude::*, Error, RHash, RModule, RString, Ruby, Time};

use crate::errors::rb_result;
use crate::ocore;

/// The context of one call: method, deadline, metadata, caller, trace id, cancellation, and
/// the response headers and trailers the handler sets.
#[magnus::wrap(class = "HmsFfi::Context", free_immediately, size)]
pub(crate) struct Context {
    inner: ocore::Context,
}

impl From<ocore::Context> for Context {
    fn from(inner: ocore::Context) -> Self {
        Context { inner }
    }
}

impl Context {
    /// The method called, `package.Service/Method`.
    fn method_name(&self) -> String {
        self.inner.method().to_string()
    }

    /// The caller's metadata as a Hash of Strings (the first value of each key).
    fn metadata(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (k, v) in self.inner.metadata().iter() {
            out.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        out
    }

    /// The authenticated caller, if an interceptor set one.
    fn identity(&self) -> Option<String> {
        self.inner.identity().map(str::to_string)
    }

    /// The kernel's `[uid, gid, pid]` of a unix caller (`pid` nil where the platform does not
    /// report it), or nil on other transports.
    fn peer_credentials(&self) -> Option<(u32, u32, Option<i32>)> {
        self.inner.peer_credentials().map(|c| (c.uid, c.gid, c.pid))
    }

    /// The peer as the transport sees it.
    fn peer(&self) -> String {
        self.inner.peer().to_string()
    }

    /// `inproc`, `unix`, `grpc`, …
    fn transport(&self) -> &'static str {
        self.inner.transport()
    }

    /// The trace id of the call.
    fn trace_id(&self) -> String {
        self.inner.trace_id().to_string()
    }

    /// The deadline as a Time, or nil.
    fn deadline(ruby: &Ruby, rb_self: &Context) -> Result<Option<Time>, Error> {
        let Some(left) = rb_self.inner.time_remaining() else {
            return Ok(None);
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let at = now + left;
        let ts = Timespec {
            tv_sec: i64::try_from(at.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(at.subsec_nanos()),
        };
        ruby.time_timespec_new(ts, Offset::utc()).map(Some)
    }

    /// Seconds left before the deadline (0.0 once passed), or nil.
    fn time_remaining(&self) -> Option<f64> {
        self.inner.time_remaining().map(|d| d.as_secs_f64())
    }

    /// True once the caller cancelled, went away, or the deadline passed.
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// Adds a response header (gRPC initial metadata), sent with the reply or the error. A
    /// binary String (`"…".b`) is sent as binary for a `-bin` key. The core refuses reserved
    /// keys (`grpc-*`, `content-type`, …) and values that are not printable ASCII
    /// (`HmsFfi::InvalidArgument`).
    fn set_header(
        ruby: &Ruby,
        rb_self: &Context,
        key: String,
        value: RString,
    ) -> Result<(), Error> {
        let c = &rb_self.inner;
        set(
            ruby,
            value,
            |t| c.set_header(&key, t),
            |b| c.set_header_bin(&key, b),
        )
    }

    /// Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`): a
    /// streaming caller sees them before the first one. A later #set_header raises
    /// `HmsFfi::FailedPrecondition`; a second call does nothing.
    fn send_headers(&self) {
        self.inner.send_headers();
    }

    /// Adds a response trailer (gRPC trailing metadata), sent with the reply or the error; the
    /// same keys and values as #set_header.
    fn set_trailer(
        ruby: &Ruby,
        rb_self: &Context,
        key: String,
        value: RString,
    ) -> Result<(), Error> {
        let c = &rb_self.inner;
        set(
            ruby,
            value,
            |t| c.set_trailer(&key, t),
            |b| c.set_trailer_bin(&key, b),
        )
    }

    /// The verified certificate of a mutual-TLS client as `{identity:, subject:, der:}` (`der`
    /// a binary String), or nil.
    fn peer_certificate(ruby: &Ruby, rb_self: &Context) -> Result<Option<RHash>, Error> {
        let Some(cert) = rb_self.inner.peer_certificate() else {
            return Ok(None);
        };
        let out = ruby.hash_new();
        out.aset(ruby.to_symbol("identity"), cert.identity.as_str())?;
        out.aset(ruby.to_symbol("subject"), cert.subject.as_str())?;
        out.aset(ruby.to_symbol("der"), ruby.str_from_slice(&cert.der))?;
        Ok(Some(out))
    }

    fn inspect(&self) -> String {
        format!(
            "#<HmsFfi::Context method={:?} peer={:?} trace_id={:?}>",
            self.inner.method(),
            self.inner.peer(),
            self.inner.trace_id()
        )
    }
}

/// A response header or trailer from a Ruby String: a binary one (`"…".b`) as bytes, any other
/// as text; the core checks the key and value.
fn set(
    ruby: &Ruby,
    value: RString,
    text: impl FnOnce(String) -> crate::ocore::Result<()>,
    bytes: impl FnOnce(&[u8]) -> crate::ocore::Result<()>,
) -> Result<(), Error> {
    let r = if value.enc_get() == ruby.ascii8bit_encindex() {
        bytes(&crate::convert::copy(value))
    } else {
        text(value.to_string()?)
    };
    rb_result(ruby, r)
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Context", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("method_name", method!(Context::method_name, 0))?;
    class.define_method("metadata", method!(Context::metadata, 0))?;
    class.define_method("identity", method!(Context::identity, 0))?;
    class.define_method("peer_credentials", method!(Context::peer_credentials, 0))?;
    class.define_method("peer", method!(Context::peer, 0))?;
    class.define_method("transport", method!(Context::transport, 0))?;
    class.define_method("trace_id", method!(Context::trace_id, 0))?;
    class.define_method("deadline", method!(Context::deadline, 0))?;
    class.define_method("time_remaining", method!(Context::time_remaining, 0))?;
    class.define_method("cancelled?", method!(Context::cancelled, 0))?;
    class.define_method("set_header", method!(Context::set_header, 2))?;
    class.define_method("send_headers", method!(Context::send_headers, 0))?;
    class.define_method("set_trailer", method!(Context::set_trailer, 2))?;
    class.define_method("peer_certificate", method!(Context::peer_certificate, 0))?;
    class.define_method("inspect", method!(Context::inspect, 0))?;
    Ok(())
}
