//! Garbage, truncated and oversized frames, bad handshakes and vanishing clients: each closes
//! (or refuses) only the offending connection; the server keeps answering everyone else.

#![allow(clippy::unwrap_used)]

mod common;

use common::raw::{hello, raw, read_frame};

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use bytes::Bytes;
use hms_ffi_core::transport::frame::{self, CallHead, Hello, Kind, Trailer, FLAG_UNARY};
use hms_ffi_core::{connect_blocking, CallOptions, Code, Value};
use prost::Message;

const ECHO: &str = "hms.conformance.v1.Conformance/Echo";

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    uri: String,
    _server: hms_ffi_core::Server,
}

fn fixture(name: &str) -> Fixture {
    let (dir, uri) = common::unix_uri(name);
    let server = common::conformance_server();
    server.listen(&uri).unwrap();
    let path = dir.path().join(format!("{name}.sock"));
    Fixture {
        _dir: dir,
        path,
        uri,
        _server: server,
    }
}

/// The connection was closed by the server: reads hit EOF.
fn assert_closed(s: &mut UnixStream) {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("expected the server to close the connection, got {e}"),
        }
    }
}

fn still_serves(uri: &str) {
    let client = connect_blocking(uri).unwrap();
    let req = common::msg(&[("unicode_text", Value::from("still here"))]);
    let reply = client
        .call_blocking(
            ECHO,
            &req,
            &CallOptions::with_timeout(Duration::from_secs(5)),
        )
        .unwrap();
    assert_eq!(
        reply.get("unicode_text").and_then(Value::as_str),
        Some("still here")
    );
}

fn call_frame(id: u32, payload: Vec<u8>) -> Vec<u8> {
    common::raw::call_frame(ECHO, id, payload)
}

#[test]
fn garbage_instead_of_hello_closes_only_that_connection() {
    let f = fixture("garbage");
    let mut bystander = raw(&f.path);
    hello(&mut bystander);
    let mut s = raw(&f.path);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_closed(&mut s);
    still_serves(&f.uri);
    // The bystander's connection still works.
    bystander.write_all(&call_frame(1, vec![])).unwrap();
    let (h, body) = read_frame(&mut bystander).unwrap();
    assert_eq!((h.kind, h.stream), (Kind::Status, 1));
    assert_eq!(Trailer::decode(body.as_slice()).unwrap().code, 0);
}

#[test]
fn unknown_kind_after_handshake_closes() {
    let f = fixture("unknown-kind");
    let mut s = raw(&f.path);
    hello(&mut s);
    s.write_all(&[0, 0, 0, 0, 99, 0, 1, 0, 0, 0]).unwrap();
    assert_closed(&mut s);
    still_serves(&f.uri);
}

#[test]
fn malformed_call_header_closes() {
    let f = fixture("bad-header");
    let mut s = raw(&f.path);
    hello(&mut s);
    s.write_all(&frame::encode_frame(
        Kind::Call,
        FLAG_UNARY,
        1,
        &[0xff, 0xff, 0xff, 0xff],
    ))
    .unwrap();
    assert_closed(&mut s);
    still_serves(&f.uri);
}

#[test]
fn truncated_frame_then_hangup_is_harmless() {
    let f = fixture("truncated");
    let mut s = raw(&f.path);
    hello(&mut s);
    let whole = call_frame(1, vec![1, 2, 3]);
    s.write_all(&whole[..whole.len() - 2]).unwrap();
    drop(s);
    still_serves(&f.uri);
}

#[test]
fn absurd_length_closes() {
    let f = fixture("absurd");
    let mut s = raw(&f.path);
    hello(&mut s);
    let mut h = Vec::new();
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.push(Kind::Call as u8);
    h.push(FLAG_UNARY);
    h.extend_from_slice(&1u32.to_le_bytes());
    s.write_all(&h).unwrap();
    assert_closed(&mut s);
    still_serves(&f.uri);
}

#[test]
fn oversized_message_is_refused_and_the_connection_survives() {
    let f = fixture("oversized");
    let mut s = raw(&f.path);
    hello(&mut s);
    // A request 1 MiB over the 4 MiB limit: drained and refused, the connection stays.
    s.write_all(&call_frame(1, vec![0u8; 5 * 1024 * 1024]))
        .unwrap();
    let (h, body) = read_frame(&mut s).unwrap();
    assert_eq!((h.kind, h.stream), (Kind::Status, 1));
    let t = Trailer::decode(body.as_slice()).unwrap();
    assert_eq!(
        Code::from_i32(t.code),
        Code::ResourceExhausted,
        "{}",
        t.message
    );
    s.write_all(&call_frame(3, vec![])).unwrap();
    let (h, body) = read_frame(&mut s).unwrap();
    assert_eq!((h.kind, h.stream), (Kind::Status, 3));
    assert_eq!(Trailer::decode(body.as_slice()).unwrap().code, 0);
}

#[test]
fn undecodable_request_bytes_are_invalid_argument() {
    let f = fixture("undecodable");
    let mut s = raw(&f.path);
    hello(&mut s);
    s.write_all(&call_frame(1, vec![0x0a, 0xff, 0xff])).unwrap();
    let (_, body) = read_frame(&mut s).unwrap();
    let t = Trailer::decode(body.as_slice()).unwrap();
    assert_eq!(
        Code::from_i32(t.code),
        Code::InvalidArgument,
        "{}",
        t.message
    );
}

#[test]
fn wrong_wire_version_gets_goaway() {
    let f = fixture("version");
    let mut s = raw(&f.path);
    let h = Hello {
        magic: frame::MAGIC.into(),
        version: 99,
        max_message: 0,
        agent: "future".into(),
        stream_window: 0,
        pings: false,
        headers: false,
    };
    s.write_all(&frame::encode_message_frame(Kind::Hello, 0, 0, &h))
        .unwrap();
    let (hdr, body) = read_frame(&mut s).unwrap();
    assert_eq!(hdr.kind, Kind::GoAway);
    let t = Trailer::decode(body.as_slice()).unwrap();
    assert_eq!(Code::from_i32(t.code), Code::FailedPrecondition);
    assert!(t.message.contains("99"));
    assert_closed(&mut s);
    still_serves(&f.uri);
}

#[test]
fn client_vanishing_mid_call_cancels_and_server_keeps_serving() {
    let f = fixture("vanish");
    for _ in 0..20 {
        let mut s = raw(&f.path);
        hello(&mut s);
        let head = CallHead {
            method: "hms.conformance.v1.Conformance/Sleep".into(),
            ..CallHead::default()
        };
        // Sleep for 10 s; the client hangs up at once.
        let payload = vec![0x08, 0x90, 0x4e];
        s.write_all(&frame::encode_message_frame(
            Kind::Call,
            FLAG_UNARY,
            1,
            &head.to_header(Bytes::from(payload)),
        ))
        .unwrap();
        drop(s);
    }
    for _ in 0..100 {
        if f._server.inflight() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        f._server.inflight(),
        0,
        "calls of vanished clients must be cancelled"
    );
    still_serves(&f.uri);
}

/// A frame header split around the server's GOAWAY (a graceful shutdown starting while the
/// server has read only part of it) is read whole: the call gets its own STATUS instead of the
/// connection being closed on misparsed bytes.
#[test]
fn a_header_split_around_goaway_is_not_lost() {
    let (dir, uri) = common::unix_uri("split");
    let server = common::conformance_server();
    server.listen(&uri).unwrap();
    let mut s = raw(&dir.path().join("split.sock"));
    hello(&mut s);
    // A call in flight keeps the drain (and the connection) open for a while.
    let sleep = CallHead {
        method: "hms.conformance.v1.Conformance/Sleep".into(),
        ..CallHead::default()
    };
    let millis_1500 = Bytes::from_static(&[0x08, 0xdc, 0x0b]); // SleepRequest{millis: 1500}
    s.write_all(&frame::encode_message_frame(
        Kind::Call,
        FLAG_UNARY,
        1,
        &sleep.to_header(millis_1500),
    ))
    .unwrap();
    let second = call_frame(3, vec![]);
    s.write_all(&second[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stopper = std::thread::spawn(move || server.shutdown_blocking(Duration::from_secs(10)));
    let (h, _) = read_frame(&mut s).expect("GOAWAY");
    assert_eq!(h.kind, Kind::GoAway);
    s.write_all(&second[5..]).unwrap();
    let mut codes = std::collections::HashMap::new();
    for _ in 0..2 {
        let (h, body) = read_frame(&mut s).expect("a STATUS, not a closed connection");
        assert_eq!(h.kind, Kind::Status);
        codes.insert(h.stream, Trailer::decode(body.as_slice()).unwrap().code);
    }
    assert_eq!(
        codes[&3],
        Code::Unavailable.as_i32(),
        "refused: shutting down"
    );
    assert_eq!(codes[&1], 0, "the call in flight finished");
    stopper.join().unwrap().unwrap();
}

/// A server restarted in place: the new one takes the old one's inproc name and socket path
/// while the old one drains a call, and keeps them when the old one finishes (the old
/// listener removed them at its end before: later clients found no server).
#[test]
fn a_server_restarted_in_place_keeps_its_name_and_socket_when_the_old_one_ends() {
    let (_dir, unix) = common::unix_uri("restart");
    let inproc = "inproc://robustness-restart";
    let old = common::conformance_server();
    for uri in [unix.as_str(), inproc] {
        old.listen(uri).unwrap();
    }
    let client = connect_blocking(&unix).unwrap();
    let slow = std::thread::spawn(move || {
        let sleep = Value::message([("millis", Value::from(600i64))]);
        let opts = CallOptions::with_timeout(Duration::from_secs(10));
        client.call_blocking("hms.conformance.v1.Conformance/Sleep", &sleep, &opts)
    });
    std::thread::sleep(Duration::from_millis(100));
    let draining = std::thread::spawn(move || old.shutdown_blocking(Duration::from_secs(5)));
    // The old server drains the slow call; the new one takes both endpoints meanwhile.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let new = common::conformance_server();
    for uri in [unix.as_str(), inproc] {
        while let Err(e) = new.listen(uri) {
            assert!(std::time::Instant::now() < deadline, "{uri}: {e}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    slow.join().unwrap().unwrap();
    draining.join().unwrap().unwrap();
    for uri in [unix.as_str(), inproc] {
        still_serves(uri);
    }
}
