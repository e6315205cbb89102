//! `HmsFfi\Context`: what a handler sees besides the request.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;

use crate::errors::php_result;
use crate::ocore;

/// The context of one call: method, deadline, metadata, caller, trace id, cancellation, and the
/// response headers and trailers the handler sets.
#[php_class]
#[derive(Debug)]
#[php(name = "HmsFfi\\Context")]
pub struct Context {
    inner: ocore::Context,
}

impl From<ocore::Context> for Context {
    fn from(inner: ocore::Context) -> Self {
        Context { inner }
    }
}

#[php_impl]
impl Context {
    /// The method called, `package.Service/Method`.
    pub fn method(&self) -> String {
        self.inner.method().to_string()
    }

    /// The caller's metadata (the first value of each key).
    ///
    /// @return array<string, string>
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (k, v) in self.inner.metadata().iter() {
            out.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        out
    }

    /// The authenticated caller, if an interceptor set one.
    pub fn identity(&self) -> Option<String> {
        self.inner.identity().map(str::to_string)
    }

    /// The kernel's credentials of a unix caller as `['uid' => int, 'gid' => int, 'pid' => ?int]`
    /// (`pid` null where the platform does not report it), or null on other transports.
    ///
    /// @return array{uid: int, gid: int, pid: ?int}|null
    pub fn peer_credentials(&self) -> PhpResult<Option<ZBox<ZendHashTable>>> {
        let Some(c) = self.inner.peer_credentials() else {
            return Ok(None);
        };
        let mut out = ZendHashTable::new();
        out.insert("uid", i64::from(c.uid))?;
        out.insert("gid", i64::from(c.gid))?;
        out.insert("pid", c.pid.map(i64::from))?;
        Ok(Some(out))
    }

    /// The peer as the transport sees it.
    pub fn peer(&self) -> String {
        self.inner.peer().to_string()
    }

    /// The transport the call came over: `inproc`, `unix`, `grpc`, `grpc+unix`, `http` or `ws`.
    pub fn transport(&self) -> String {
        self.inner.transport().to_string()
    }

    /// The trace id of the call.
    pub fn trace_id(&self) -> String {
        self.inner.trace_id().to_string()
    }

    /// The deadline as seconds since the epoch, or null.
    pub fn deadline(&self) -> Option<f64> {
        let left = self.inner.time_remaining()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Some((now + left).as_secs_f64())
    }

    /// Seconds left before the deadline (0 once passed), or null.
    pub fn time_remaining(&self) -> Option<f64> {
        self.inner.time_remaining().map(|d| d.as_secs_f64())
    }

    /// True once the caller cancelled, went away, or the deadline passed.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// The verified certificate of a mutual-TLS client as `['identity' => string, 'subject' =>
    /// string, 'der' => string]` (`der` the DER bytes), or null.
    ///
    /// @return array{identity: string, subject: string, der: string}|null
    pub fn peer_certificate(&self) -> PhpResult<Option<ZBox<ZendHashTable>>> {
        let Some(c) = self.inner.peer_certificate() else {
            return Ok(None);
        };
        let mut out = ZendHashTable::new();
        out.insert("identity", c.identity.as_str())?;
        out.insert("subject", c.subject.as_str())?;
        out.insert("der", ext_php_rs::binary::Binary::from(c.der.clone()))?;
        Ok(Some(out))
    }

    /// Adds a response header (gRPC initial metadata), sent with the reply or the error. The
    /// core refuses reserved keys (`grpc-*`, `content-type`, …) and values that are not
    /// printable ASCII (`InvalidArgumentException`); binary values go through `setHeaderBin()`.
    pub fn set_header(&self, key: &str, value: &str) -> PhpResult<()> {
        php_result(self.inner.set_header(key, value))
    }

    /// Sends the response headers set so far now, ahead of any reply (gRPC's `SendHeader`): a
    /// streaming caller sees them before the first one. A later `setHeader()` throws
    /// `FailedPreconditionException`; a second call does nothing.
    pub fn send_headers(&self) {
        self.inner.send_headers();
    }

    /// Adds a response header with a binary value, for a `-bin` key.
    pub fn set_header_bin(
        &self,
        key: &str,
        value: ext_php_rs::binary::Binary<u8>,
    ) -> PhpResult<()> {
        php_result(self.inner.set_header_bin(key, &Vec::from(value)))
    }

    /// Adds a response trailer (gRPC trailing metadata), sent with the reply or the error; the
    /// same keys and values as `setHeader()`.
    pub fn set_trailer(&self, key: &str, value: &str) -> PhpResult<()> {
        php_result(self.inner.set_trailer(key, value))
    }

    /// Adds a response trailer with a binary value, for a `-bin` key.
    pub fn set_trailer_bin(
        &self,
        key: &str,
        value: ext_php_rs::binary::Binary<u8>,
    ) -> PhpResult<()> {
        php_result(self.inner.set_trailer_bin(key, &Vec::from(value)))
    }
}
