//! A nats-server of a test's own: the binary `scripts/install-nats.sh` installs (or the one
//! `HMS_FFI_NATS_SERVER` names), on a free port, with JetStream in a temporary store when asked,
//! killed when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::repo_root;

pub struct NatsServer {
    child: Child,
    pub port: u16,
    command: Vec<std::ffi::OsString>,
    _store: tempfile::TempDir,
}

/// The nats-server binary, if installed.
pub fn nats_server_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("HMS_FFI_NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/tools/nats/bin/nats-server"));
    bin.is_file().then_some(bin)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs `command` and waits (up to 10 s) until it accepts connections on `port`; `None` when
/// it exits first (the port was taken meanwhile).
fn spawn(command: &[std::ffi::OsString], port: u16) -> Option<Child> {
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

impl NatsServer {
    /// Starts a nats-server and waits (up to 10 s) until it accepts connections; `None`, with
    /// a message saying why, when nats-server is not installed.
    pub fn start(jetstream: bool) -> Option<NatsServer> {
        NatsServer::start_with(jetstream, "")
    }

    /// [`start`](NatsServer::start) with `config` added to its configuration file (an
    /// `authorization` or `tls` block, say).
    pub fn start_with(jetstream: bool, config: &str) -> Option<NatsServer> {
        let Some(bin) = nats_server_bin() else {
            eprintln!(
                "SKIPPED: nats-server is not installed (run scripts/install-nats.sh, or set \
                 HMS_FFI_NATS_SERVER); `make test` installs it"
            );
            return None;
        };
        let store = tempfile::tempdir().unwrap();
        // 8 MiB messages (the default is 1 MiB): the conformance vectors send 4 MiB.
        let conf = store.path().join("nats.conf");
        std::fs::write(&conf, format!("max_payload: 8388608\n{config}\n")).unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut command: Vec<std::ffi::OsString> = vec![bin.clone().into()];
            for a in ["-a", "127.0.0.1", "-p", &port.to_string(), "-c"] {
                command.push(a.into());
            }
            command.push(conf.clone().into());
            if jetstream {
                command.extend(["-js".into(), "-sd".into(), store.path().into()]);
            }
            if let Some(child) = spawn(&command, port) {
                return Some(NatsServer {
                    child,
                    port,
                    command,
                    _store: store,
                });
            }
        }
        panic!("nats-server did not start in 5 attempts");
    }

    /// Kills the nats-server (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port, with the same store.
    pub fn restart(&mut self) {
        self.child = spawn(&self.command, self.port).expect("nats-server restarts on its port");
    }

    /// `nats://127.0.0.1:PORT/prefix`.
    pub fn uri(&self, prefix: &str) -> String {
        format!("nats://127.0.0.1:{}/{prefix}", self.port)
    }

    /// `127.0.0.1:PORT`, for a raw NATS client.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
