"""Batched calls from Python (issue 22's target: a batch of 100 small calls over unix has ≥ 5×
the throughput of 100 sequential calls), one run: an hms-ffi Python server in its own process
echoing 64-byte messages over a unix socket; this process calls it with 100 sequential
``client.call``s, then with ``client.batch`` of the same 100 calls, alternating, and reports the
calls per second of each and their ratio. For reference, 100 calls from 16 threads at once.
With ``--uri URI`` the calls go to a server already listening there instead (for instance the
CLI's release echo server, to see the client's share alone):

    make py-install && target/py-venv/bin/python benches/python/batch_bench.py [ROUNDS]
    cargo build --release -p hms-ffi-cli && printf 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }' > /tmp/bench.proto
    target/release/hms-ffi serve --echo --schema /tmp/bench.proto --listen unix:///tmp/rs-echo.sock &
    target/py-venv/bin/python benches/python/batch_bench.py 200 --uri unix:///tmp/rs-echo.sock
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_bench import METHOD, PAYLOAD, serve_hms, spawn  # noqa: E402

import hms_ffi  # noqa: E402

BATCH = 100


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-hms":
        serve_hms(sys.argv[2])
        return
    args = sys.argv[1:]
    uri = None
    if "--uri" in args:
        at = args.index("--uri")
        uri = args[at + 1]
        del args[at : at + 2]
    rounds = int(args[0]) if args else 200
    if uri is not None:
        run(uri, rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "batch.sock")
        server = spawn("hms", sock, __file__)
        try:
            run(f"unix://{sock}", rounds)
        finally:
            server.kill()
            server.wait(timeout=10)


def run(uri: str, rounds: int) -> None:
    client = hms_ffi.connect(uri)
    calls = [(METHOD, {"data": PAYLOAD})] * BATCH
    pool = ThreadPoolExecutor(16)

    def sequential() -> None:
        for method, req in calls:
            client.call(method, req, timeout=10)

    def batched() -> None:
        results = client.batch(calls, timeout=10)
        assert all(isinstance(r, dict) for r in results), results[:3]

    def threaded() -> None:
        list(pool.map(lambda c: client.call(c[0], c[1], timeout=10), calls))

    kinds = {"sequential": sequential, "batch": batched, "16 threads": threaded}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for f in kinds.values():  # warm up
        for _ in range(5):
            f()
    for _ in range(rounds):
        for name, f in kinds.items():
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)
    rate = {k: BATCH / statistics.median(v) for k, v in times.items()}
    print(f"{BATCH} calls of 64 B over {uri.split(':')[0]}, median of {rounds} rounds "
          f"(threads alive: {threading.active_count()}):")
    for name, r in rate.items():
        print(f"  {name:>11}: {r:>9,.0f} calls/s  ({statistics.median(times[name]) * 1e3:.2f} ms per 100)")
    print(f"  batch / sequential: {rate['batch'] / rate['sequential']:.1f}x (target >= 5x)")
    client.close()
    pool.shutdown()


if __name__ == "__main__":
    main()
