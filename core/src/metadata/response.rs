//! Response metadata: the headers (gRPC initial metadata) and trailers (trailing metadata) a
//! handler sets through its [`Context`](crate::Context), and a [`Reply`] as a client reads it.
//!
//! Rules, the same on every transport:
//! - Keys are lower-cased; they may repeat. A key ending in `-bin` carries a binary value as
//!   unpadded base64 text (as gRPC does); other values are printable ASCII.
//! - Reserved keys are refused with `InvalidArgument`: `grpc-*`, `connect-*`, `trailer-*`,
//!   `hms-*` and `nats-*` (the `nats://` transport's own headers),
//!   `:…` pseudo-headers and HTTP's own (`content-type`, `content-length`, `te`, …).
//! - Headers go out with the first response message, or earlier when a streaming handler sends
//!   them ([`Context::send_headers`](crate::Context::send_headers)), or with the outcome when
//!   there is none; a header set after that is `FailedPrecondition`. Trailers go out with the outcome, success
//!   or error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{is_bin_key, Metadata, BASE64};
use crate::error::{Code, Error, Result};

/// A reply with the response metadata that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    /// The response message.
    pub message: T,
    /// The response headers (gRPC initial metadata) the handler set.
    pub headers: Metadata,
    /// The response trailers (gRPC trailing metadata) the handler set.
    pub trailers: Metadata,
}

impl<T> Reply<T> {
    /// The same reply with its message converted.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        Reply {
            message: f(self.message),
            headers: self.headers,
            trailers: self.trailers,
        }
    }
}

/// One call's response metadata, shared by the handler's context (which fills it) and the
/// transport (which sends it); on the client, filled by the transport for a stream.
#[derive(Debug, Default)]
pub(crate) struct ResponseMetadata {
    headers_sent: AtomicBool,
    state: Mutex<State>,
    /// Told when the handler asks for its headers to go out now (before any message).
    flush: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct State {
    headers: Metadata,
    trailers: Metadata,
    headers_sent: bool,
}

const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "te",
    "host",
    "user-agent",
    "accept-encoding",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "trailer",
];

/// Checks a response metadata key and value (see the module docs).
pub(crate) fn check_entry(key: &str, value: &str) -> Result<()> {
    check_syntax(key, value)?;
    let lower = key.to_ascii_lowercase();
    if ["grpc-", "connect-", "trailer-", "hms-", "nats-"]
        .iter()
        .any(|p| lower.starts_with(p))
        || RESERVED.contains(&lower.as_str())
    {
        return Err(bad(format!(
            "metadata key {key:?} is reserved by the protocol"
        )));
    }
    Ok(())
}

fn bad(why: String) -> Error {
    Error::new(Code::InvalidArgument, why).with_reason("BAD_METADATA")
}

/// Checks the form of a metadata entry, request or response: a key of ASCII letters, digits,
/// '-', '_' or '.'; a value of printable ASCII, or base64 under a `-bin` key. Every transport
/// carries such an entry unchanged (an HTTP/2 header could not carry others).
pub(crate) fn check_syntax(key: &str, value: &str) -> Result<()> {
    let valid_key = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid_key {
        return Err(bad(format!(
            "metadata key {key:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"
        )));
    }
    if is_bin_key(&key.to_ascii_lowercase()) {
        use base64::Engine;
        BASE64
            .decode(value)
            .map_err(|e| bad(format!("value of {key:?} is not base64: {e}")))?;
    } else if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad(format!(
            "value of {key:?} must be printable ASCII (use a -bin key for bytes)"
        )));
    }
    Ok(())
}

/// `InvalidArgument` unless `key` ends in `-bin`.
pub(crate) fn require_bin_key(key: &str) -> Result<()> {
    if is_bin_key(key) {
        Ok(())
    } else {
        Err(Error::new(
            Code::InvalidArgument,
            format!("binary metadata key {key:?} must end in -bin"),
        ))
    }
}

impl ResponseMetadata {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add_header(&self, key: &str, value: String) -> Result<()> {
        check_entry(key, &value)?;
        let mut s = self.state();
        if s.headers_sent {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!(
                    "response header {key:?} set after the headers were sent (with the first \
                     response message): set headers before sending"
                ),
            ));
        }
        s.headers.insert(key, value);
        Ok(())
    }

    pub(crate) fn add_trailer(&self, key: &str, value: String) -> Result<()> {
        check_entry(key, &value)?;
        self.state().trailers.insert(key, value);
        Ok(())
    }

    /// Marks the headers sent (a response message is going out); cheap after the first time.
    pub(crate) fn seal_headers(&self) {
        if !self.headers_sent.load(Ordering::Acquire) {
            self.state().headers_sent = true;
            self.headers_sent.store(true, Ordering::Release);
        }
    }

    /// Seals the headers and asks the transport to send them now, ahead of any message (a
    /// transport that cannot sends them with the first message or the outcome, as before).
    pub(crate) fn flush_headers(&self) {
        self.seal_headers();
        self.flush.notify_one();
    }

    /// Resolves once [`flush_headers`](ResponseMetadata::flush_headers) was called (at once if
    /// it was before); for the one task of a call that writes its headers.
    pub(crate) async fn flushed(&self) {
        self.flush.notified().await
    }

    /// Seals and takes the headers, for the transport to send (empty after the first take).
    pub(crate) fn take_headers(&self) -> Metadata {
        self.headers_sent.store(true, Ordering::Release);
        let mut s = self.state();
        s.headers_sent = true;
        std::mem::take(&mut s.headers)
    }

    /// Takes the trailers, for the transport to send with the outcome.
    pub(crate) fn take_trailers(&self) -> Metadata {
        std::mem::take(&mut self.state().trailers)
    }

    /// Takes both (unary calls and the end of a stream).
    pub(crate) fn take_all(&self) -> (Metadata, Metadata) {
        (self.take_headers(), self.take_trailers())
    }

    /// Client side: what arrived, unchecked. The first headers to arrive stay (a transport that
    /// got them ahead of the messages gets an empty set again with the outcome).
    pub(crate) fn received(&self, headers: Option<Metadata>, trailers: Option<Metadata>) {
        let mut s = self.state();
        if let Some(h) = headers.filter(|_| !s.headers_sent) {
            s.headers = h;
            s.headers_sent = true;
        }
        if let Some(t) = trailers {
            s.trailers = t;
        }
    }

    /// Client side: the headers, once they have arrived.
    pub(crate) fn headers(&self) -> Option<Metadata> {
        let s = self.state();
        s.headers_sent.then(|| s.headers.clone())
    }

    /// Client side: the trailers so far.
    pub(crate) fn trailers(&self) -> Metadata {
        self.state().trailers.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_are_checked() {
        assert!(check_entry("x-a", "v 1").is_ok());
        assert!(check_entry("x-a-bin", "q6ur").is_ok());
        assert!(check_entry("x-a-bin", "q6s=").is_ok());
        for (k, v) in [
            ("grpc-status", "0"),
            ("Content-Type", "x"),
            ("trailer-x", "1"),
            (":path", "/"),
            ("", "v"),
            ("x a", "v"),
            ("x-a", "line\nbreak"),
            ("x-a", "é"),
            ("x-a-bin", "not base64!"),
        ] {
            let e = check_entry(k, v).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{k}: {v}");
        }
    }

    #[test]
    fn headers_are_sealed_by_the_first_message() {
        let m = ResponseMetadata::default();
        m.add_header("x-a", "1".into()).unwrap();
        m.seal_headers();
        let e = m.add_header("x-b", "2".into()).unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition);
        m.add_trailer("x-t", "3".into()).unwrap();
        let (h, t) = m.take_all();
        assert_eq!(h.get("x-a"), Some("1"));
        assert_eq!(h.len(), 1);
        assert_eq!(t.get("x-t"), Some("3"));
    }

    #[test]
    fn a_flush_seals_the_headers_and_wakes_the_writer() {
        let m = ResponseMetadata::default();
        m.add_header("x-a", "1".into()).unwrap();
        m.flush_headers();
        assert_eq!(
            m.add_header("x-b", "2".into()).unwrap_err().code(),
            Code::FailedPrecondition
        );
        // The flush came before the writer waited: it does not wait.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let flushed = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), m.flushed()).await
        });
        assert!(flushed.is_ok());
        assert_eq!(m.take_headers().get("x-a"), Some("1"));
    }

    #[test]
    fn the_first_headers_received_stay() {
        let m = ResponseMetadata::default();
        assert!(m.headers().is_none());
        let mut early = Metadata::new();
        early.insert("x-early", "yes");
        m.received(Some(early), None);
        m.received(Some(Metadata::new()), Some(Metadata::new()));
        assert_eq!(m.headers().unwrap().get("x-early"), Some("yes"));
    }
}
