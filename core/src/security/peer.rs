//! The credentials of a local peer, read from the socket (`SO_PEERCRED`).

/// Who is at the other end of a unix socket, as the kernel reports it when the connection is
/// accepted. A unix caller's identity is `uid:<uid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCredentials {
    /// The peer process's effective user id.
    pub uid: u32,
    /// The peer process's effective group id.
    pub gid: u32,
    /// The peer process id, where the platform reports it.
    pub pid: Option<i32>,
}

impl PeerCredentials {
    /// The identity these credentials give a caller: `uid:<uid>`.
    pub fn identity(&self) -> String {
        format!("uid:{}", self.uid)
    }

    pub(crate) fn from_ucred(c: &tokio::net::unix::UCred) -> PeerCredentials {
        PeerCredentials {
            uid: c.uid(),
            gid: c.gid(),
            pid: c.pid(),
        }
    }
}

/// True for transports that cross a machine boundary (`grpc`, `http`, `ws`); `inproc`, `unix`
/// and `grpc+unix` stay on one machine.
pub fn is_network(transport: &str) -> bool {
    !matches!(transport, "inproc" | "unix" | "grpc+unix")
}
