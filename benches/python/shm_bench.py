"""Python client -> Python server over shm:// against the same over unix://, 64 B and 64 KiB
`bytes` echoes, with the floor in the same run: a raw length-prefixed unix socket echo in Python
(echo_bench.py's). Issue 18's targets: shm p50 <= 5 µs with warm vCPUs, at least 3x faster than
unix in the same run on both VM states, and 64 KiB throughput over shm at least 3x unix's.

One server process listens on both shm:///TMP/hms.sock and unix:///TMP/hms-unix.sock (the same
handler, the same process), so the rows differ only by transport. The client is a sync
`hms_ffi.connect` client: a blocking caller, which takes the blocking lane on both transports.
Rows: sequential p50/p99 (one caller) and sequential MB/s for the 64 KiB body.
Run: make bench-py-shm
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_bench import METHOD, PROTO, RawClient, latency, pct, spawn  # noqa: E402

SIZES = [64, 64 * 1024]


def serve_hms(prefix: str) -> None:
    """An hms_ffi echo server on shm://PREFIX.sock and unix://PREFIX-unix.sock (prints "ready")."""
    import hms_ffi

    server = hms_ffi.Server(hms_ffi.Schema.from_source("bench.proto", PROTO))
    server.add_method(METHOD, lambda req, ctx: req)
    server.listen(f"shm://{prefix}.sock")
    server.listen(f"unix://{prefix}-unix.sock")
    print("ready", flush=True)
    server.serve()


def rate(call: Callable[[], object], size: int, seconds: float) -> float:
    """Sequential MB/s of `call` echoing `size` bytes each way for `seconds`."""
    n, stop = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < stop:
        call()
        n += 1
    return n * size * 2 / (time.perf_counter() - start) / 1e6


def measure(rows: List[Tuple], name: str, size: int, call: Callable[[], object], n: int, secs: float) -> None:
    lat = latency(call, n)
    rows.append((name, size, pct(lat, 0.5), pct(lat, 0.99), rate(call, size, secs)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve-hms")
    ap.add_argument("--serve-raw")
    ap.add_argument("-n", type=int, default=3000, help="sequential calls per row")
    ap.add_argument("--seconds", type=float, default=2.0, help="throughput window per row")
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="body sizes in bytes")
    args = ap.parse_args()
    if args.serve_hms:
        return serve_hms(args.serve_hms)
    if args.serve_raw:
        from echo_bench import serve_raw

        return serve_raw(args.serve_raw)

    import hms_ffi

    tmp = tempfile.mkdtemp()
    prefix, raw_sock = os.path.join(tmp, "hms"), os.path.join(tmp, "raw.sock")
    procs = [spawn("hms", prefix, __file__), spawn("raw", raw_sock, __file__)]
    try:
        shm = hms_ffi.connect(f"shm://{prefix}.sock")
        unix = hms_ffi.connect(f"unix://{prefix}-unix.sock")
        raw = RawClient(raw_sock)
        rows: List[Tuple] = []
        for size in args.sizes:
            body = os.urandom(size)
            req = {"data": body}
            for client in (shm, unix):
                assert client.call(METHOD, req)["data"] == body
            assert raw.call(body) == body
            measure(rows, "hms-ffi shm", size, lambda: shm.call(METHOD, req), args.n, args.seconds)
            measure(rows, "hms-ffi unix", size, lambda: unix.call(METHOD, req), args.n, args.seconds)
            measure(rows, "raw unix echo", size, lambda: raw.call(body), args.n, args.seconds)
        print(f"transport used: {shm.transport} / {unix.transport}")
        print(f"{'row':<16} {'size':>6} {'p50 µs':>9} {'p99 µs':>9} {'MB/s':>9}")
        for name, size, p50, p99, mbs in rows:
            print(f"{name:<16} {size:>6} {p50:9.1f} {p99:9.1f} {mbs:9.0f}")
        by = {(r[0], r[1]): r for r in rows}
        for size in args.sizes:
            s, u, r = by["hms-ffi shm", size], by["hms-ffi unix", size], by["raw unix echo", size]
            print(f"{size} B: unix/shm p50 = {u[2] / s[2]:.2f}x (target >= 3x), shm p50 = {s[2]:.1f} µs "
                  f"(target <= 5 µs warm), shm/raw unix p50 = {s[2] / r[2]:.2f}x, "
                  f"shm/unix MB/s = {s[4] / u[4]:.2f}x (target >= 3x at 64 KiB)")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
