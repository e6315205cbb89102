//! Tests that need a second process run their own test binary again, with one `#[ignore]`d test
//! selected and a URI in its environment: a server to kill or freeze, or a client to kill.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use super::resil::{listen, server, Counts};

/// The child's side: serves the Counter service on the URI in `env` until its stdin ends.
pub fn serve_from_env(env: &str) {
    let Ok(uri) = std::env::var(env) else {
        return;
    };
    let s = server("child", Arc::new(Counts::default()));
    listen(&s, &uri);
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// A child process, continued (so a frozen one dies too) and killed when dropped.
pub struct ChildProcess(pub Child);

impl Drop for ChildProcess {
    fn drop(&mut self) {
        signal(&self.0, "CONT");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `sig` (`STOP`, `CONT`) to the child with kill(1).
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success() || sig == "CONT", "kill -{sig}");
}

/// Runs the ignored test `test` of this binary as a child, with `uri` in `env`.
pub fn spawn(test: &str, env: &str, uri: &str) -> ChildProcess {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--ignored", "--nocapture"])
        .env(env, uri)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    ChildProcess(child)
}
