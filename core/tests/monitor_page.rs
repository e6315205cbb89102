//! The admin listener's live monitoring page (issue 20) in a real browser: headless Chromium
//! loads it against a server under load, and the test reads the rendered DOM — the calls per
//! second are above zero, the call count moves between two loads, an error and a refused call
//! appear after they happen — and saves a screenshot (`target/tmp/monitor-page.png`).
//!
//! Chromium comes from Debian's apt (`scripts/install-chromium.sh`); `make test-core` sets
//! `HMS_FFI_CHROMIUM`, and then the test must run. Without the variable and with no `chromium`
//! on `PATH` it is skipped, saying so.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resil::{kill, listen};
use common::unix_uri;
use hms_ffi_core::{
    connect_blocking, connect_with, runtime::block_on, CallOptions, Code, ConnectOptions, Error,
    Schema, Server, Value,
};

const PACKAGE: &str = "monitorpage.v1";

fn schema(extra: &str) -> Schema {
    let text = format!(
        r#"syntax = "proto3"; package {PACKAGE};
        message Msg {{ string text = 1; bool fail = 2; }}
        service Svc {{ rpc Echo(Msg) returns (Msg); {extra} }}"#
    );
    Schema::from_source("page.proto", &text).unwrap()
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HMS_FFI_CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "HMS_FFI_CHROMIUM={path:?} is not a file");
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `args` (killed after 90 s) and returns its stdout.
fn browse(chromium: &Path, profile: &Path, url: &str, args: &[&str]) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args(["--disable-dev-shm-usage", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium failed: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The text of every `<td data-field="FIELD" …>` in the rows of `method`'s server side.
fn field(dom: &str, method: &str, field: &str) -> Option<String> {
    let row_start = dom.find(&format!(
        "data-method=\"{method}\" data-side=\"server\" data-transport=\"unix\""
    ))?;
    let row = &dom[row_start..row_start + dom[row_start..].find("</tr>")?];
    let at = row.find(&format!("data-field=\"{field}\""))?;
    let text = &row[at + row[at..].find('>')? + 1..];
    Some(text[..text.find('<')?].to_string())
}

#[test]
fn the_page_shows_live_numbers_errors_and_refusals_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!("SKIPPED: no chromium (scripts/install-chromium.sh installs it)");
        return;
    };
    let method = format!("{PACKAGE}.Svc/Echo");
    let server = Server::new(schema(""));
    server
        .unary(&method, |req, _| async move {
            if req.get("fail") == Some(&Value::Bool(true)) {
                return Err(Error::new(Code::FailedPrecondition, "asked to fail"));
            }
            Ok(req)
        })
        .unwrap();
    let admin = server.admin("http://127.0.0.1:0").unwrap();
    let (dir, unix) = unix_uri("page");
    let unix = listen(&server, &unix);
    let opts = CallOptions::with_timeout(Duration::from_secs(10));
    let ok = Value::message([("text", Value::from("hi"))]);

    // Load: a client calling back to back until the test ends.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, unix, method, ok, opts) = (
            stop.clone(),
            unix.clone(),
            method.clone(),
            ok.clone(),
            opts.clone(),
        );
        std::thread::spawn(move || {
            let client = connect_blocking(&unix).unwrap();
            while !stop.load(Ordering::Relaxed) {
                if client.call_blocking(&method, &ok, &opts).is_err() {
                    break; // the server stopped (a failed assertion dropped it)
                }
            }
        })
    };
    let profile = dir.path().join("profile");
    let page = format!("{admin}/");
    let budget = ["--virtual-time-budget=4000", "--dump-dom"];
    // Virtual time runs the page's timers at once, while each poll's fetch takes real time:
    // consecutive polls are a few real milliseconds apart, and calls/s is above zero when a
    // call landed in between. Under this load one nearly always does; a few loads make sure.
    let mut first = String::new();
    for _ in 0..5 {
        first = browse(&chromium, &profile, &page, &budget);
        assert!(
            first.contains("<span id=\"state\" class=\"ok\">serving</span>"),
            "{first}"
        );
        let rate = field(&first, &method, "rate").unwrap_or_else(|| panic!("{first}"));
        if rate.parse::<f64>().unwrap() > 0.0 {
            break;
        }
    }
    let rate: f64 = field(&first, &method, "rate").unwrap().parse().unwrap();
    assert!(rate > 0.0, "calls/s {rate} under load:\n{first}");
    let calls: u64 = field(&first, &method, "calls").unwrap().parse().unwrap();
    assert_eq!(field(&first, &method, "errors").as_deref(), Some("none"));
    assert!(first.contains(&unix), "the endpoint is shown:\n{first}");

    // An error, and a call to a method the server does not serve (refused before a handler).
    let client = connect_blocking(&unix).unwrap();
    let bad = Value::message([("fail", Value::Bool(true))]);
    assert_eq!(
        client
            .call_blocking(&method, &bad, &opts)
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    let theirs = ConnectOptions {
        schema: Some(schema("rpc Gone(Msg) returns (Msg);")),
        ..ConnectOptions::default()
    };
    let other = block_on(connect_with(&unix, theirs)).unwrap().unwrap();
    let gone = format!("{PACKAGE}.Svc/Gone");
    let e = other.call_blocking(&gone, &ok, &opts).unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);

    let second = browse(&chromium, &profile, &page, &budget);
    let later: u64 = field(&second, &method, "calls").unwrap().parse().unwrap();
    assert!(later > calls, "the call count moved: {calls} then {later}");
    let errors = field(&second, &method, "errors").unwrap();
    assert_eq!(errors, "FAILED_PRECONDITION 1", "{second}");
    let refused = second.find(&format!("<td data-field=\"method\">{gone}</td>"));
    let refused = refused.unwrap_or_else(|| panic!("the refused call is listed:\n{second}"));
    assert!(second[refused..].contains("UNIMPLEMENTED"), "{second}");
    // Unserved methods count as `other`, the refusal said apart from the other errors.
    assert!(second.contains("UNIMPLEMENTED 1 (1 refused)"), "{second}");
    assert!(
        second.contains("uid:"),
        "the unix peer's identity is listed:\n{second}"
    );
    assert!(
        second.contains("<span id=\"connections\" class=\"\">unix "),
        "the unix connections are shown:\n{second}"
    );

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("monitor-page.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    browse(
        &chromium,
        &profile,
        &page,
        &["--virtual-time-budget=2500", "--window-size=1280,900", &arg],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.len() > 10_000 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a screenshot of {} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());

    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    kill(&server);
}
