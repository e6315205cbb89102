//! A call's options as one struct, [`HmsCallOptions`], taken by the `*_with_options` calls: a
//! new option is a new field here rather than a new function.

use std::ffi::c_char;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::text;
use crate::ocore::{CallOptions, Code, Error, Metadata};

/// [`HmsCallOptions::wait_for_ready`]: the client's `waitForReady` (given at connect).
pub const HMS_WAIT_FOR_READY_DEFAULT: i32 = 0;
/// [`HmsCallOptions::wait_for_ready`]: wait for a connection up to the deadline.
pub const HMS_WAIT_FOR_READY_YES: i32 = 1;
/// [`HmsCallOptions::wait_for_ready`]: fail `UNAVAILABLE` at once while there is no connection.
pub const HMS_WAIT_FOR_READY_NO: i32 = 2;

/// Options for one call; a zeroed struct (or a NULL pointer) means the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HmsCallOptions {
    /// Milliseconds before the deadline, which the server sees; ≤ 0 means none.
    pub timeout_ms: i64,
    /// `n_metadata` key/value pairs sent with the call, as 2×n strings (NULL when none).
    pub metadata_kv: *const *const c_char,
    /// How many key/value pairs `metadata_kv` holds.
    pub n_metadata: usize,
    /// `HMS_WAIT_FOR_READY_YES` waits for a connection up to the deadline instead of failing
    /// `UNAVAILABLE` at once while there is none; `HMS_WAIT_FOR_READY_NO` fails at once;
    /// `HMS_WAIT_FOR_READY_DEFAULT` (0) takes the client's `waitForReady`. Other values are
    /// `INVALID_ARGUMENT`.
    pub wait_for_ready: i32,
}

impl HmsCallOptions {
    /// The options of the calls that take a timeout and metadata only.
    pub(crate) fn basic(
        timeout_ms: i64,
        metadata_kv: *const *const c_char,
        n_metadata: usize,
    ) -> HmsCallOptions {
        HmsCallOptions {
            timeout_ms,
            metadata_kv,
            n_metadata,
            wait_for_ready: HMS_WAIT_FOR_READY_DEFAULT,
        }
    }
}

/// [`HmsCallOptions`] read (and copied) from the caller's memory.
#[derive(Debug, Default)]
pub(crate) struct Options {
    timeout_ms: i64,
    metadata: Vec<(String, String)>,
    wait_for_ready: Option<bool>,
}

impl Options {
    /// Reads `o`, copying what it points at (NULL: the defaults).
    pub(crate) unsafe fn read(o: *const HmsCallOptions) -> Result<Options, Error> {
        let Some(o) = o.as_ref() else {
            return Ok(Options::default());
        };
        let wait_for_ready = match o.wait_for_ready {
            HMS_WAIT_FOR_READY_DEFAULT => None,
            HMS_WAIT_FOR_READY_YES => Some(true),
            HMS_WAIT_FOR_READY_NO => Some(false),
            other => {
                let what =
                    format!("wait_for_ready must be 0, 1 or 2 (HMS_WAIT_FOR_READY_*), got {other}");
                return Err(Error::new(Code::InvalidArgument, what));
            }
        };
        Ok(Options {
            timeout_ms: o.timeout_ms,
            metadata: metadata(o.metadata_kv, o.n_metadata)?,
            wait_for_ready,
        })
    }

    /// The core's options, cancelled by `cancel`.
    pub(crate) fn to_core(&self, cancel: Option<CancellationToken>) -> CallOptions {
        let mut metadata = Metadata::new();
        for (k, v) in &self.metadata {
            metadata.insert(k, v.clone());
        }
        CallOptions {
            timeout: u64::try_from(self.timeout_ms)
                .ok()
                .filter(|t| *t > 0)
                .map(Duration::from_millis),
            metadata,
            cancel,
            wait_for_ready: self.wait_for_ready,
            ..CallOptions::default()
        }
    }
}

unsafe fn metadata(
    kv: *const *const c_char,
    n_pairs: usize,
) -> Result<Vec<(String, String)>, Error> {
    if n_pairs > 0 && kv.is_null() {
        return Err(Error::new(Code::InvalidArgument, "metadata is NULL"));
    }
    let mut out = Vec::with_capacity(n_pairs);
    for i in 0..n_pairs {
        out.push((
            text(*kv.add(2 * i), "metadata key")?.to_string(),
            text(*kv.add(2 * i + 1), "metadata value")?.to_string(),
        ));
    }
    Ok(out)
}
