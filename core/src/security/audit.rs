//! The audit log: one JSON line per call — refused ones included — written by a background
//! thread, so the call path only puts a line on a bounded queue and never waits for a disk or a
//! callback. When the queue is full, lines are dropped and counted (reported in the next line
//! written as `"dropped": N`), never blocking a call.
//!
//! A line: `{"time":"2026-11-27T20:15:00.123Z","identity":"alice","peer":"grpc:127.0.0.1:5…",
//! "method":"billing.v1.Invoices/Get","transport":"grpc","code":"OK","latency_ms":0.41,
//! "trace_id":"…"}`, with `"message"` (and `"reason"`) for a failed call. Payloads are written
//! only when asked for ([`AuditLog::with_payloads`], `payloads = true` in the security file):
//! `"request"`/`"response"` of unary calls, rendered on the audit thread (see [`CallPayloads`]).
//! Metadata (which holds tokens) is never written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;
use crate::security::CallPayloads;
use crate::value::time::format_timestamp;
use crate::value::Timestamp;

/// Default number of lines queued before new ones are dropped.
pub const DEFAULT_AUDIT_QUEUE: usize = 8192;

/// Where audit lines go (the `[audit]` table of a security file names a file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The file lines are appended to (created with mode 0600).
    pub file: PathBuf,
    /// Lines queued before new ones are dropped; 0 for the default.
    #[serde(default)]
    pub queue: usize,
    /// Also write the request and reply of unary calls (off by default: payloads may hold
    /// personal data).
    #[serde(default)]
    pub payloads: bool,
}

/// A line waiting for the audit thread, with the payloads it renders there.
struct Pending {
    line: serde_json::Value,
    payloads: Option<Arc<CallPayloads>>,
}

impl Pending {
    fn render(mut self) -> String {
        if let Some(p) = &self.payloads {
            p.write_to(&mut self.line);
        }
        self.line.to_string()
    }
}

/// A receiver of audit lines (each one JSON object, without the newline), run on the audit
/// thread.
pub type AuditCallback = Arc<dyn Fn(&str) + Send + Sync>;

/// The audit interceptor: its `after` hook queues one line per call.
pub struct AuditLog {
    tx: SyncSender<Pending>,
    dropped: Arc<AtomicU64>,
    payloads: bool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl AuditLog {
    /// An audit log appending to `path`.
    pub fn to_file(path: &Path, queue: usize) -> Result<AuditLog> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                Error::new(
                    Code::FailedPrecondition,
                    format!("cannot open audit log {}: {e}", path.display()),
                )
            })?;
        let mut out = std::io::BufWriter::new(file);
        Ok(AuditLog::spawn(queue, move |rx| {
            while let Ok(line) = rx.recv() {
                let _ = writeln!(out, "{}", line.render());
                // Batch while more lines wait; flush once the queue is empty.
                while let Ok(line) = rx.try_recv() {
                    let _ = writeln!(out, "{}", line.render());
                }
                let _ = out.flush();
            }
        }))
    }

    /// An audit log handing each line to `callback` on the audit thread.
    pub fn to_callback(callback: AuditCallback, queue: usize) -> AuditLog {
        AuditLog::spawn(queue, move |rx| {
            while let Ok(line) = rx.recv() {
                let line = line.render();
                // A panicking callback loses its line, not the audit thread.
                let cb = callback.clone();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&line)));
            }
        })
    }

    fn spawn(queue: usize, run: impl FnOnce(Receiver<Pending>) + Send + 'static) -> AuditLog {
        let cap = if queue == 0 {
            DEFAULT_AUDIT_QUEUE
        } else {
            queue
        };
        let (tx, rx) = sync_channel(cap);
        let _ = std::thread::Builder::new()
            .name("hms-ffi-audit".into())
            .spawn(move || run(rx));
        AuditLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            payloads: false,
        }
    }

    /// Also writes the request and reply of unary calls (`"request"`, `"response"`).
    pub fn with_payloads(mut self, on: bool) -> AuditLog {
        self.payloads = on;
        self
    }

    /// True when lines carry payloads.
    pub fn records_payloads(&self) -> bool {
        self.payloads
    }

    /// Lines dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The JSON line for one call.
pub fn audit_line(
    ctx: &Context,
    outcome: std::result::Result<(), &Error>,
    elapsed: Duration,
) -> serde_json::Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let time = format_timestamp(Timestamp {
        seconds: now.as_secs() as i64,
        nanos: (now.subsec_millis() * 1_000_000) as i32,
    });
    let mut line = json!({
        "time": time,
        "identity": ctx.identity(),
        "peer": ctx.peer(),
        "method": ctx.method(),
        "transport": ctx.transport(),
        "code": outcome.err().map_or(Code::Ok, |e| e.code()).name(),
        "latency_ms": (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        "trace_id": ctx.trace_id(),
    });
    if let Err(e) = outcome {
        line["message"] = e.message().into();
        if let Some(info) = &e.details().error_info {
            line["reason"] = info.reason.clone().into();
        }
    }
    line
}

impl Interceptor for AuditLog {
    fn after(&self, ctx: &Context, outcome: std::result::Result<(), &Error>, elapsed: Duration) {
        let mut line = audit_line(ctx, outcome, elapsed);
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            line["dropped"] = dropped.into();
        }
        let payloads = self
            .payloads
            .then(|| ctx.extensions().get::<Arc<CallPayloads>>().cloned())
            .flatten();
        match self.tx.try_send(Pending { line, payloads }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(dropped + 1, Ordering::Relaxed);
            }
        }
    }
}
