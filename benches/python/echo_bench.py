"""64-byte echo: Python client -> Python server over a unix socket, hms-ffi against grpcio and
against the floor, a raw length-prefixed socket echo in Python (a thread per connection reading
4-byte big-endian lengths and bodies, writing them back).

The servers run in their own process; the clients run here, in the same run:
  * sequential p50/p99 of one caller,
  * throughput of 16 caller threads,
  * hms-ffi over inproc:// (same process) for reference.

grpcio gets the easy path: raw-bytes handlers with identity (de)serializers, so it does no
protobuf work at all, while hms-ffi maps dict <-> protobuf on both sides. Run: make bench-py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, List

PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }'
METHOD = "bench.v1.Echo/Echo"
PAYLOAD = bytes(range(64))


def serve_hms(sock: str, proto: str = PROTO, method: str = METHOD) -> None:
    """An hms_ffi server echoing `method` of `proto` on `sock` (prints "ready")."""
    import hms_ffi

    server = hms_ffi.Server(hms_ffi.Schema.from_source("bench.proto", proto))
    server.add_method(method, lambda req, ctx: req)
    server.listen(f"unix://{sock}")
    print("ready", flush=True)
    server.serve()


def serve_grpc(sock: str, service: str = "bench.v1.Echo", workers: int = 16, **serializers) -> None:
    """A grpcio server whose `Echo` method of `service` echoes on `sock` (prints "ready");
    `serializers` are grpc's request_deserializer/response_serializer (none: raw bytes)."""
    from concurrent import futures

    import grpc

    echo = grpc.unary_unary_rpc_method_handler(lambda req, ctx: req, **serializers)
    handler = grpc.method_handlers_generic_handler(service, {"Echo": echo})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"unix://{sock}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def serve_raw(sock: str) -> None:
    """A raw echo of 4-byte big-endian length-prefixed frames on `sock` (prints "ready")."""
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock)
    listener.listen(64)
    print("ready", flush=True)

    def echo(conn: socket.socket) -> None:
        with conn:
            while True:
                head = recv_exact(conn, 4)
                if not head:
                    return
                conn.sendall(head + recv_exact(conn, int.from_bytes(head, "big")))

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def recv_exact(conn, n: int) -> bytes:
    """`n` bytes from `conn`, or b"" when the peer closed first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return b""
        buf += chunk
    return bytes(buf)


class RawClient:
    """A raw echo client with one connection per calling thread."""

    def __init__(self, sock: str) -> None:
        self.sock, self.local = sock, threading.local()

    def call(self, body: bytes) -> bytes:
        import socket

        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.sock)
        conn.sendall(len(body).to_bytes(4, "big") + body)
        return recv_exact(conn, int.from_bytes(recv_exact(conn, 4), "big"))


def spawn(kind: str, sock: str, script: str = __file__) -> subprocess.Popen:
    """Starts `script --serve-<kind> sock` and waits for its "ready"."""
    proc = subprocess.Popen([sys.executable, script, f"--serve-{kind}", sock], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", f"{kind} server did not start"
    return proc


def latency(call: Callable[[], object], n: int, warmup: int = 200) -> List[float]:
    for _ in range(min(warmup, n)):
        call()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def throughput(call: Callable[[], None], threads: int, seconds: float) -> float:
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def worker(i: int) -> None:
        while time.perf_counter() < stop:
            call()
            counts[i] += 1

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / seconds


def pct(xs: List[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve-hms")
    ap.add_argument("--serve-grpc")
    ap.add_argument("--serve-raw")
    ap.add_argument("-n", type=int, default=3000, help="sequential calls per transport")
    ap.add_argument("--seconds", type=float, default=3.0, help="throughput window")
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args()
    if args.serve_hms:
        return serve_hms(args.serve_hms)
    if args.serve_grpc:
        return serve_grpc(args.serve_grpc)
    if args.serve_raw:
        return serve_raw(args.serve_raw)

    import grpc

    import hms_ffi

    tmp = tempfile.mkdtemp()
    hms_sock, grpc_sock = os.path.join(tmp, "hms.sock"), os.path.join(tmp, "grpc.sock")
    raw_sock = os.path.join(tmp, "raw.sock")
    procs = [spawn("hms", hms_sock), spawn("grpc", grpc_sock), spawn("raw", raw_sock)]
    try:
        client = hms_ffi.connect(f"unix://{hms_sock}")
        req = {"data": PAYLOAD}
        assert client.call(METHOD, req)["data"] == PAYLOAD

        channel = grpc.insecure_channel(f"unix://{grpc_sock}", options=[("grpc.default_authority", "localhost")])
        stub = channel.unary_unary("/bench.v1.Echo/Echo")
        wire = b"\x0a\x40" + PAYLOAD  # Blob{data: PAYLOAD} encoded
        assert stub(wire) == wire
        raw = RawClient(raw_sock)
        assert raw.call(PAYLOAD) == PAYLOAD

        local = hms_ffi.Server(hms_ffi.Schema.from_source("echo.proto", PROTO))
        local.add_method(METHOD, lambda r, c: r)
        local.listen("inproc://bench-echo")
        inproc = hms_ffi.connect("inproc://bench-echo")

        rows = []
        for name, fn in [
            ("hms-ffi unix", lambda: client.call(METHOD, req)),
            ("grpcio unix", lambda: stub(wire)),
            ("hms-ffi inproc", lambda: inproc.call(METHOD, req)),
            ("raw unix echo", lambda: raw.call(PAYLOAD)),
        ]:
            lat = latency(fn, args.n)
            tput = throughput(fn, args.threads, args.seconds)
            rows.append((name, pct(lat, 0.5), pct(lat, 0.99), statistics.mean(lat) * 1e6, tput))
        print(f"{'transport':<16} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9} {f'{args.threads}-thread calls/s':>20}")
        for name, p50, p99, mean, tput in rows:
            print(f"{name:<16} {p50:9.1f} {p99:9.1f} {mean:9.1f} {tput:20.0f}")
        hms, grpc_row = rows[0], rows[1]
        print(f"\nratios: hms-ffi/grpcio p50 = {hms[1] / grpc_row[1]:.3f} (target <= 0.1), "
              f"throughput hms-ffi/grpcio = {hms[4] / grpc_row[4]:.2f}x (target >= 5x), "
              f"hms-ffi/raw echo p50 = {hms[1] / rows[3][1]:.2f}x (target <= 2x)")
        local.shutdown()
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


if __name__ == "__main__":
    main()
