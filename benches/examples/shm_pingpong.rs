//! `shm://` against `unix://` and two raw shared-memory floors, between the same two processes
//! (this program runs itself again as the server), 64 B and 64 KiB, one call at a time:
//!
//! - `raw spin`: the request copied into a shared buffer, a sequence word bumped; the child spins
//!   on it, copies the request into the reply buffer, bumps its own word; the parent spins.
//! - `raw eventfd`: the same, each side blocking in `read` on an eventfd the other writes.
//! - `hms shm` / `hms unix`: hms-ffi echo calls, raw bytes (`call_raw`) and value-mapped
//!   (`call_blocking`), to hms-ffi servers in the child.
//! - `hms auto` / `hms auto?unix`: the same servers found by name (`auto://bench-KIND`), which
//!   picks shm, or unix with `?transports=unix`: it should cost what the transport it picked does.
//!
//! Run: `make bench-shm` (`cargo run --release -p hms-ffi-benches --example shm_pingpong`).
#![allow(unsafe_code, missing_docs, clippy::unwrap_used)]

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hms_ffi_benches::{hms_raw_echo_server, Blob, ECHO_PROTO, HMS_METHOD};
use hms_ffi_core::{CallOptions, Client, Schema, Server, Value};
use prost::Message;

const MAX: usize = 64 * 1024;
const REQ: usize = 4096;
const REP: usize = REQ + MAX;
const LEN: usize = REP + MAX;
/// Control words: the parent's sequence, the child's, the phase (1 spin, 2 eventfd, 3 exit).
const SEQ: usize = 0;
const ACK: usize = 64;
const PHASE: usize = 128;

struct Shared(*mut u8);

// SAFETY: a shared mapping used through atomics and bounded copies only.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    fn word(&self, off: usize) -> &AtomicU64 {
        // SAFETY: one of the three aligned control words inside the mapping.
        unsafe { &*(self.0.add(off) as *const AtomicU64) }
    }
    fn copy(&self, from: usize, to: usize, n: usize) {
        // SAFETY: `n ≤ MAX` bytes between the request and reply buffers, both inside the mapping.
        unsafe { std::ptr::copy_nonoverlapping(self.0.add(from), self.0.add(to), n) };
    }
    fn put(&self, data: &[u8]) {
        // SAFETY: at most MAX bytes into the request buffer.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.0.add(REQ), data.len()) };
    }
    fn take(&self, out: &mut [u8]) {
        // SAFETY: at most MAX bytes out of the reply buffer.
        unsafe { std::ptr::copy_nonoverlapping(self.0.add(REP), out.as_mut_ptr(), out.len()) };
    }
}

fn map(fd: RawFd) -> Shared {
    // SAFETY: maps LEN bytes of a memfd of that size; never unmapped (the process's lifetime).
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            LEN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    Shared(p.cast())
}

fn wait_fd(fd: RawFd) {
    let mut b = [0u8; 8];
    // SAFETY: a blocking 8-byte read into a live buffer.
    unsafe { libc::read(fd, b.as_mut_ptr().cast(), 8) };
}

fn post_fd(fd: RawFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: an 8-byte write from a live buffer.
    unsafe { libc::write(fd, one.as_ptr().cast(), 8) };
}

/// The child: hms-ffi servers on the two URIs, and the raw responders as the phase says.
fn child(args: &[String]) {
    let fd = |i: usize| args[i].parse::<RawFd>().unwrap();
    let (mem, ev_req, ev_rep) = (map(fd(2)), fd(3), fd(4));
    let schema = Schema::from_source("echo.proto", ECHO_PROTO).unwrap();
    let mapped = Server::new(schema);
    mapped
        .unary(HMS_METHOD, |req: Value, _| async move { Ok(req) })
        .unwrap();
    let raw = hms_raw_echo_server();
    for (s, kind) in [(&mapped, "mapped"), (&raw, "raw")] {
        s.listen(&format!("shm://{}/{kind}-shm.sock", args[5]))
            .unwrap();
        s.listen(&format!("unix://{}/{kind}-unix.sock", args[5]))
            .unwrap();
        // Found by name: shm between these two processes (XDG_RUNTIME_DIR is the parent's).
        s.listen(&format!("auto://bench-{kind}")).unwrap();
    }
    println!("ready");
    let mut seen = 0;
    loop {
        match mem.word(PHASE).load(Ordering::Acquire) {
            1 | 2 => {
                let spin = mem.word(PHASE).load(Ordering::Acquire) == 1;
                if !spin {
                    wait_fd(ev_req);
                }
                let seq = mem.word(SEQ).load(Ordering::Acquire);
                if seq == seen {
                    std::hint::spin_loop();
                    continue;
                }
                seen = seq;
                let n = mem.word(PHASE + 8).load(Ordering::Relaxed) as usize;
                mem.copy(REQ, REP, n.min(MAX));
                mem.word(ACK).store(seq, Ordering::Release);
                if !spin {
                    post_fd(ev_rep);
                }
            }
            3 => return,
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn memfd() -> RawFd {
    // SAFETY: a new memfd (inherited by the child: no close-on-exec), sized, checked.
    unsafe {
        let fd = libc::memfd_create(c"bench".as_ptr(), 0);
        assert!(fd >= 0 && libc::ftruncate(fd, LEN as libc::off_t) == 0);
        fd
    }
}

fn eventfd() -> RawFd {
    // SAFETY: a blocking eventfd, inherited by the child.
    let fd = unsafe { libc::eventfd(0, 0) };
    assert!(fd >= 0);
    fd
}

/// p50, p99 (µs) and MB/s of `iters` calls of `f` after a warm-up.
fn measure(iters: usize, size: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..iters / 10 {
        f();
    }
    let mut took = Vec::with_capacity(iters);
    let start = Instant::now();
    for _ in 0..iters {
        let t = Instant::now();
        f();
        took.push(t.elapsed());
    }
    let total = start.elapsed().as_secs_f64();
    took.sort();
    let us = |q: usize| took[q * (iters - 1) / 100].as_secs_f64() * 1e6;
    (us(50), us(99), (size * iters) as f64 / total / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(&args);
    }
    let dir = tempfile::tempdir().unwrap();
    // The auto:// service directory of this run (the child inherits it).
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    let (fd, ev_req, ev_rep) = (memfd(), eventfd(), eventfd());
    let mem = map(fd);
    let mut kid = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child".to_string(),
            fd.to_string(),
            ev_req.to_string(),
            ev_rep.to_string(),
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(kid.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    let connect = |kind: &str, t: &str| -> Client {
        let uri = match t {
            // auto:// picks shm://bench-KIND; forced to unix, the auto directory's socket.
            "auto" => format!("auto://bench-{kind}"),
            "auto?unix" => format!("auto://bench-{kind}?transports=unix"),
            _ => format!("{t}://{}/{kind}-{t}.sock", dir.path().display()),
        };
        let client = hms_ffi_core::connect_blocking(&uri).unwrap();
        if t.starts_with("auto") {
            let picked = client.transport().unwrap();
            assert!(
                picked.starts_with(if t == "auto" { "shm:" } else { "unix:" }),
                "{picked}"
            );
        }
        client
    };
    let opts = CallOptions::default();
    println!("| row | size | p50 µs | p99 µs | MB/s |\n| --- | --- | --- | --- | --- |");
    for (size, iters) in [(64usize, 20_000usize), (MAX, 3_000)] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();
        let mut out = vec![0u8; size];
        let mut seq = 0u64;
        let row = |name: &str, r: (f64, f64, f64)| {
            println!("| {name} | {size} | {:.2} | {:.2} | {:.0} |", r.0, r.1, r.2);
        };
        for (phase, name) in [(1u64, "raw spin"), (2, "raw eventfd")] {
            mem.word(PHASE + 8).store(size as u64, Ordering::Relaxed);
            mem.word(PHASE).store(phase, Ordering::Release);
            let r = measure(iters, size, || {
                mem.put(&data);
                seq += 1;
                mem.word(SEQ).store(seq, Ordering::Release);
                if phase == 2 {
                    post_fd(ev_req);
                    wait_fd(ev_rep);
                }
                while mem.word(ACK).load(Ordering::Acquire) != seq {
                    std::hint::spin_loop();
                }
                mem.take(&mut out);
            });
            assert_eq!(out, data);
            row(name, r);
            mem.word(PHASE).store(0, Ordering::Release);
            if phase == 2 {
                post_fd(ev_req);
            }
        }
        let req = Bytes::from(Blob { data: data.clone() }.encode_to_vec());
        let value = Value::message([("data", Value::Bytes(data.clone()))]);
        for t in ["shm", "auto", "unix", "auto?unix"] {
            let raw = connect("raw", t);
            let r = measure(iters, size, || {
                let rep =
                    hms_ffi_core::runtime::block_on(raw.call_raw(HMS_METHOD, req.clone(), &opts));
                assert_eq!(rep.unwrap().unwrap().len(), req.len());
            });
            row(&format!("hms {t} call_raw"), r);
            let mapped = connect("mapped", t);
            let r = measure(iters, size, || {
                mapped.call_blocking(HMS_METHOD, &value, &opts).unwrap();
            });
            row(&format!("hms {t} call_blocking"), r);
        }
    }
    mem.word(PHASE).store(3, Ordering::Release);
    let _ = kid.wait();
}
