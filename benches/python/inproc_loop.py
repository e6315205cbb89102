"""A tight loop of 64-byte inproc echo calls, to profile (the Python inproc row of make bench-py):

    perf record -g target/py-venv/bin/python benches/python/inproc_loop.py
    perf report --no-children --sort symbol

Prints the mean time per call. With `--connect unix:///path.sock` it calls a server elsewhere
instead (e.g. `kotlin/run.sh io.github.hmsffi.BenchKt serve unix:///tmp/kb.sock`, whose process
`perf record -g -p PID` then profiles), for `--seconds` seconds.
"""

from __future__ import annotations

import argparse
import time

import hms_ffi

PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }'
METHOD = "bench.v1.Echo/Echo"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", help="call this server instead of an inproc one")
    ap.add_argument("-n", type=int, default=300_000)
    ap.add_argument("--seconds", type=float, default=10.0, help="with --connect: how long")
    args = ap.parse_args()
    req = {"data": bytes(range(64))}
    if args.connect:
        client = hms_ffi.connect(args.connect)
        calls, stop = 0, time.perf_counter() + args.seconds
        start = time.perf_counter()
        while time.perf_counter() < stop:
            client.call(METHOD, req)
            calls += 1
        print(f"{(time.perf_counter() - start) / calls * 1e6:.1f} us/call over {calls} calls")
        return
    server = hms_ffi.Server(hms_ffi.Schema.from_source("echo.proto", PROTO))
    server.add_method(METHOD, lambda r, c: r)
    server.listen("inproc://inproc-loop")
    client = hms_ffi.connect("inproc://inproc-loop")
    for _ in range(20_000):
        client.call(METHOD, req)
    start = time.perf_counter()
    for _ in range(args.n):
        client.call(METHOD, req)
    print(f"{(time.perf_counter() - start) / args.n * 1e6:.2f} us/call")
    server.shutdown()


if __name__ == "__main__":
    main()
