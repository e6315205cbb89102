//! Helpers shared by the CLI tests: the binary, the conformance schema, a server process killed
//! on drop, and free ports.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hms-ffi"))
}

pub(crate) fn proto() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/conformance.proto")
}

pub(crate) struct Serve(pub(crate) Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `cmd` (stderr discarded) and waits until it creates the socket `sock` (10 s at most;
/// the process is killed and the test fails after that).
pub(crate) fn spawn_until_socket(mut cmd: Command, sock: &Path) -> Serve {
    let _ = std::fs::remove_file(sock);
    let child = cmd.stderr(Stdio::null()).spawn().unwrap();
    let server = Serve(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if sock.exists() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{cmd:?} did not create {}", sock.display());
}

/// Starts `hms-ffi registry serve --db DB --listen unix://SOCK [--listen extra…]`.
pub(crate) fn registry_serve(db: &Path, sock: &Path, extra: &[String]) -> Serve {
    registry_serve_on(&["--db".into(), db.into()], sock, extra)
}

/// Starts `hms-ffi registry serve STORE… --listen unix://SOCK [--listen extra…]`, where STORE
/// is `--db FILE` or `--store nats://…`.
pub(crate) fn registry_serve_on(
    store: &[std::ffi::OsString],
    sock: &Path,
    extra: &[String],
) -> Serve {
    let mut cmd = bin();
    cmd.args(["registry", "serve"]).args(store).arg("--listen");
    cmd.arg(format!("unix://{}", sock.display()));
    for uri in extra {
        cmd.args(["--listen", uri]);
    }
    spawn_until_socket(cmd, sock)
}

/// Writes `shop.proto` (package shop.v1) with `body` inside `message Item` into the new folder
/// `dir/name`, and returns the folder.
pub(crate) fn shop_schema(dir: &Path, name: &str, body: &str) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let text = format!("syntax = \"proto3\";\npackage shop.v1;\nmessage Item {{ {body} }}\n");
    std::fs::write(folder.join("shop.proto"), text).unwrap();
    folder
}

pub(crate) fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A free TCP port on the loopback (bound, then released for the server to take).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on each of `ports` (5 s at most).
pub(crate) fn wait_for_ports(ports: &[u16]) -> bool {
    (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        ports
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
    })
}

/// The audit log's lines, once it holds at least `want` of them (2 s at most).
pub(crate) fn audit_lines(path: &Path, want: usize) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect();
        if lines.len() >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    lines
}

/// Runs `cmd` to completion with its output captured; kills it and fails the test when it takes
/// longer than `timeout`.
pub(crate) fn output_within(mut cmd: Command, timeout: Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn registry(args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("registry").args(args);
    output_within(cmd, WAIT)
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// Registers `count` schemas `Item { string f<i> = <i+1>; }` (tag `tag`), each from its own
/// process at once, alternating between `uris`; returns each acknowledged (version, fingerprint).
pub(crate) fn writers(dir: &Path, uris: &[String], tag: &str, count: usize) -> Vec<(u64, String)> {
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let folder = shop_schema(
                dir,
                &format!("{tag}{i}"),
                &format!("string {tag}{i} = {};", i + 1),
            );
            let uri = uris[i % uris.len()].clone();
            std::thread::spawn(move || {
                registry(&[
                    "register",
                    "--registry",
                    &uri,
                    folder.to_str().unwrap(),
                    "--json",
                    "--timeout",
                    "20",
                ])
            })
        })
        .collect();
    let mut acked = Vec::new();
    for t in threads {
        let out = t.join().unwrap();
        if out.status.success() {
            let v = json(&out)["version"].clone();
            acked.push((
                v["version"].as_u64().unwrap(),
                v["fingerprint"].as_str().unwrap().to_string(),
            ));
        }
    }
    acked
}

pub(crate) fn listed(uri: &str) -> Vec<(u64, String)> {
    let out = registry(&["list", "--registry", uri, "shop.v1", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    json(&out)["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Two registries on one store (`--db FILE` or `--store nats://…`) at `dir/{a,b}.sock`, its
/// subject `shop.v1` in mode NONE, and ten writer processes alternating between them: checks
/// that the ten acknowledged versions are numbered 1 to 10 and that both registries list
/// exactly them; returns both registries and the acknowledged versions.
pub(crate) fn two_registries_race(
    dir: &Path,
    store: &[std::ffi::OsString],
) -> ((Serve, Serve), Vec<(u64, String)>) {
    let (a, b) = (dir.join("a.sock"), dir.join("b.sock"));
    let servers = (
        registry_serve_on(store, &a, &[]),
        registry_serve_on(store, &b, &[]),
    );
    let uris = [
        format!("unix://{}", a.display()),
        format!("unix://{}", b.display()),
    ];
    let out = registry(&["mode", "--registry", &uris[0], "shop.v1", "NONE"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut acked = writers(dir, &uris, "f", 10);
    acked.sort();
    assert_eq!(
        acked.iter().map(|a| a.0).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<u64>>()
    );
    assert_eq!(listed(&uris[0]), acked);
    assert_eq!(listed(&uris[1]), acked);
    (servers, acked)
}

/// `hms-ffi gen --lang LANG` of a `.proto` file with the text `schema` (named `file`), the file
/// `name` it writes.
pub(crate) fn generated(schema: &str, file: &str, lang: &str, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join(file);
    std::fs::write(&proto, schema).unwrap();
    let out = dir.path().join("out");
    let mut cmd = bin();
    cmd.args(["gen", "--lang", lang, "--out"])
        .arg(&out)
        .arg(&proto);
    let o = output_within(cmd, Duration::from_secs(60));
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::read_to_string(out.join(name)).unwrap()
}
