//! Server connections by transport: open now and accepted since the process started. A
//! transport counts a connection from its accept (an [`Open`] guard) until its guard drops with
//! the connection; calls made on it are counted per method as before. In-process calls and
//! NATS have no connections of their own here.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::Serialize;

use super::{transport_index, TRANSPORTS};

const N: usize = TRANSPORTS.len();

static OPEN: [AtomicI64; N] = [const { AtomicI64::new(0) }; N];
static ACCEPTED: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];

/// One accepted connection, counted open until dropped.
#[derive(Debug)]
pub struct Open(usize);

/// Counts a connection `transport` (`unix`, `shm`, `grpc`, `grpc+unix`, `http`, `ws`, their
/// TLS forms) accepted; it stays open until the guard drops.
pub fn opened(transport: &str) -> Open {
    let i = transport_index(transport);
    OPEN[i].fetch_add(1, Ordering::Relaxed);
    ACCEPTED[i].fetch_add(1, Ordering::Relaxed);
    Open(i)
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN[self.0].fetch_sub(1, Ordering::Relaxed);
    }
}

/// The connections of one transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connections {
    /// The transport.
    pub transport: &'static str,
    /// Open now.
    pub open: i64,
    /// Accepted since the process started.
    pub accepted: u64,
}

/// Every transport that accepted a connection.
pub fn all() -> Vec<Connections> {
    (0..N)
        .filter_map(|i| {
            let accepted = ACCEPTED[i].load(Ordering::Relaxed);
            (accepted > 0).then(|| Connections {
                transport: TRANSPORTS[i],
                open: OPEN[i].load(Ordering::Relaxed),
                accepted,
            })
        })
        .collect()
}

/// The Prometheus families `hms_server_connections` (open, a gauge) and
/// `hms_server_connections_accepted_total` (a counter), by `hms_transport`.
pub(super) fn render(out: &mut String) {
    use std::fmt::Write;
    let all = all();
    let families = [
        (
            "hms_server_connections",
            "gauge",
            "Server connections open now.",
        ),
        (
            "hms_server_connections_accepted_total",
            "counter",
            "Server connections accepted.",
        ),
    ];
    for (k, (name, kind, help)) in families.into_iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for c in &all {
            let n = if k == 0 { c.open } else { c.accepted as i64 };
            let _ = writeln!(out, "{name}{{hms_transport=\"{}\"}} {n}", c.transport);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_open_until_its_guard_drops() {
        let before = |t: &str| all().into_iter().find(|c| c.transport == t);
        let base = before("wss").map_or((0, 0), |c| (c.open, c.accepted));
        let a = opened("wss");
        let b = opened("wss");
        let now = before("wss").unwrap();
        assert_eq!((now.open, now.accepted), (base.0 + 2, base.1 + 2));
        drop(a);
        drop(b);
        let after = before("wss").unwrap();
        assert_eq!((after.open, after.accepted), (base.0, base.1 + 2));
        let mut text = String::new();
        render(&mut text);
        assert!(
            text.contains("# TYPE hms_server_connections gauge"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "hms_server_connections_accepted_total{{hms_transport=\"wss\"}} {}",
                base.1 + 2
            )),
            "{text}"
        );
    }
}
