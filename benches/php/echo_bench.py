"""64-byte echo over unix sockets with PHP on one side, next to PHP's raw sockets, in one run:

  * PHP client (hms_ffi extension) -> Python hms_ffi server,
  * Python client -> PHP hms_ffi server (serve() on the PHP thread),
  * PHP client -> PHP server, for reference,
  * PHP stream_socket_client -> PHP stream_socket_server echoing 64-byte frames: the floor a PHP
    program pays for a unix round trip without any RPC layer.

Sequential calls of one caller (PHP runs one request per thread). Run: make bench-php
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from echo_bench import METHOD, PAYLOAD, latency, pct, spawn  # noqa: E402


def start(cmd: list) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", f"{cmd} did not start"
    return proc


def php_client(php: list, mode: str, where: str, n: int) -> dict:
    out = subprocess.run(php + [str(HERE / "echo_bench.php"), mode, where, str(n)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--php", default="php", help="PHP command with the extension loaded")
    ap.add_argument("-n", type=int, default=5000, help="sequential calls per row")
    args = ap.parse_args()
    php = shlex.split(args.php)

    import hms_ffi

    tmp = tempfile.mkdtemp()
    py_sock, php_sock, raw_sock = (os.path.join(tmp, f) for f in ("py.sock", "php.sock", "raw.sock"))
    procs = [
        spawn("hms", py_sock),
        start(php + [str(HERE / "echo_bench.php"), "serve", f"unix://{php_sock}"]),
        start(php + [str(HERE / "echo_bench.php"), "raw-serve", raw_sock]),
    ]
    try:
        rows = []
        rows.append(("PHP client -> Python server", php_client(php, "client", f"unix://{py_sock}", args.n)))
        client = hms_ffi.connect(f"unix://{php_sock}")
        req = {"data": PAYLOAD}
        assert client.call(METHOD, req)["data"] == PAYLOAD
        lat = latency(lambda: client.call(METHOD, req), args.n)
        rows.append(("Python client -> PHP server", {
            "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "mean": statistics.mean(lat) * 1e6,
            "calls_per_s": len(lat) / sum(lat)}))
        rows.append(("PHP client -> PHP server", php_client(php, "client", f"unix://{php_sock}", args.n)))
        rows.append(("PHP raw stream_socket echo", php_client(php, "raw-client", raw_sock, args.n)))

        print(f"{'64-byte echo over unix':<30} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9} {'calls/s':>9}")
        for name, r in rows:
            print(f"{name:<30} {r['p50']:9.1f} {r['p99']:9.1f} {r['mean']:9.1f} {r['calls_per_s']:9.0f}")
        raw = rows[-1][1]
        print("\nratios to the raw PHP socket echo (p50):")
        for name, r in rows[:-1]:
            print(f"  {name:<30} {r['p50'] / raw['p50']:6.2f}x")
    finally:
        for p in procs:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
