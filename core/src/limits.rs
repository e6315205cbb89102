//! Limits every transport enforces, with their defaults.

use std::time::Duration;

/// Default largest encoded message: 4 MiB, as gRPC.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Default deepest nesting of messages, lists and maps in a value.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default most calls in flight on one connection.
pub const DEFAULT_MAX_CONCURRENT_PER_CONNECTION: usize = 256;
/// Default most calls in flight on one server.
pub const DEFAULT_MAX_CONCURRENT_PER_SERVER: usize = 4096;

/// Limits applied to every call; exceeding one is `ResourceExhausted` for that call only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Deepest nesting of a value.
    pub max_depth: usize,
    /// Most calls in flight on one connection (one client, for `inproc`).
    pub max_concurrent_per_connection: usize,
    /// Most calls in flight on the whole server.
    pub max_concurrent_per_server: usize,
    /// Longest deadline a caller may ask for; longer ones are shortened to this.
    pub max_deadline: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_concurrent_per_connection: DEFAULT_MAX_CONCURRENT_PER_CONNECTION,
            max_concurrent_per_server: DEFAULT_MAX_CONCURRENT_PER_SERVER,
            max_deadline: None,
        }
    }
}

impl Limits {
    /// `ResourceExhausted` if `len` exceeds the message limit.
    pub fn check_message(&self, len: usize, what: &str) -> crate::Result<()> {
        if len > self.max_message_bytes {
            return Err(crate::Error::resource_exhausted(
                "MESSAGE_TOO_LARGE",
                format!(
                    "{what} of {len} bytes exceeds the limit of {} bytes",
                    self.max_message_bytes
                ),
            ));
        }
        Ok(())
    }
}
