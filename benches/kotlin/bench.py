"""64-byte echo over a unix socket: Kotlin client -> Kotlin server, next to the Python and Go
hms-ffi figures measured in the same run (make bench-kotlin).

    python benches/kotlin/bench.py [--python PY] [--go GO] [-n N]

* Kotlin: kotlin/run.sh io.github.hmsffi.BenchKt, server and client in two JVMs; the `map` form
  (typed JSON across the UniFFI boundary) and the `raw-bytes` form (protobuf bytes).
* Kotlin raw socket (the floor): io.github.hmsffi.RawBenchKt, java.nio over a unix socket, a
  4-byte big-endian length then the body each way; server and client in two JVMs.
* grpc-java: io.github.hmsffi.GrpcBenchKt, grpc-netty over a unix socket (netty epoll), a
  hand-built byte-array method (no protoc), server and client in two JVMs.
* Python: benches/python/echo_bench.py (dict client -> dict server, each its own process;
  grpcio beside it).
* Go: benches/go (proto.Message and map clients, server in the same process; grpc-go beside it).

Prints each figure as measured and the Kotlin/Python, Kotlin/Go, Kotlin/raw-socket and
Kotlin/grpc-java p50 ratios.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUN = str(ROOT / "kotlin" / "run.sh")


def kotlin(n: int, main: str = "io.github.hmsffi.BenchKt", uri: bool = True) -> dict:
    """Runs `main serve ADDR` and `main client ADDR n` in two JVMs (one pair at a time), the
    address a fresh unix socket (`unix://PATH` when `uri`, else the bare path); the client checks
    one echo before timing. Returns {"unix map": (p50, p99), ...} from its `kotlin ...` lines."""
    sock = os.path.join(tempfile.mkdtemp(prefix="hms-kbench-"), "echo.sock")
    addr = f"unix://{sock}" if uri else sock
    server = subprocess.Popen([RUN, main, "serve", addr], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready", f"{main} server did not start"
        client = subprocess.run([RUN, main, "client", addr, str(n)], capture_output=True, text=True)
        if client.returncode != 0:
            sys.stderr.write(client.stderr)
            client.check_returncode()
        out = client.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(out, end="")
    return {m[1].strip(): (float(m[2]), float(m[3]))
            for m in re.finditer(r"^kotlin (.+?)\s+p50\s+([\d.]+) µs\s+p99\s+([\d.]+) µs", out, re.M)}


def python(py: str) -> dict:
    out = subprocess.run([py, str(ROOT / "benches" / "python" / "echo_bench.py"), "-n", "3000", "--seconds", "1"],
                         capture_output=True, text=True, check=True).stdout
    print(out, end="")
    return {m[1].strip(): (float(m[2]), float(m[3]))
            for m in re.finditer(r"^(hms-ffi unix|grpcio unix)\s+([\d.]+)\s+([\d.]+)", out, re.M)}


def go(go_bin: str) -> dict:
    out = subprocess.run([go_bin, "test", "-run", "^$", "-bench", "HmsFfiUnix|GrpcGoUnix", "-benchtime", "2s"],
                         cwd=ROOT / "benches" / "go", capture_output=True, text=True, check=True).stdout
    print(out, end="")
    return {m[1]: (float(m[2]), float(m[3]))
            for m in re.finditer(r"^Benchmark(\w+?)(?:-\d+)?\s.*?([\d.]+) p50-µs\s+([\d.]+) p99-µs", out, re.M)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable, help="interpreter with hms_ffi and grpcio installed")
    ap.add_argument("--go", default="go")
    ap.add_argument("-n", type=int, default=20000, help="sequential Kotlin calls per row (hms-ffi forms, raw socket, grpc-java)")
    args = ap.parse_args()
    print("== Kotlin ==")
    k = kotlin(args.n)
    k |= kotlin(args.n, "io.github.hmsffi.RawBenchKt", uri=False)
    k |= kotlin(args.n, "io.github.hmsffi.GrpcBenchKt", uri=False)
    print("\n== Python ==")
    p = python(args.python)
    print("\n== Go ==")
    g = go(args.go)
    rows = [
        ("kotlin map (typed JSON)", k["unix map"]),
        ("kotlin raw bytes", k["unix raw-bytes"]),
        ("kotlin raw socket (floor)", k["unix raw-socket"]),
        ("python dict", p["hms-ffi unix"]),
        ("go proto.Message", g["HmsFfiUnix"]),
        ("go map", g["HmsFfiUnixMap"]),
        ("grpcio (python)", p["grpcio unix"]),
        ("grpc-go", g["GrpcGoUnix"]),
        ("grpc-java", k["grpc-java unix"]),
    ]
    print(f"\n{'64-byte echo over unix':<26} {'p50 µs':>9} {'p99 µs':>9}")
    for name, (p50, p99) in rows:
        print(f"{name:<26} {p50:9.1f} {p99:9.1f}")
    km = k["unix map"][0]
    kr = k["unix raw-bytes"][0]
    print(f"\nratios (p50): kotlin map / python dict = {km / p['hms-ffi unix'][0]:.2f}, "
          f"kotlin map / go map = {km / g['HmsFfiUnixMap'][0]:.2f}, "
          f"kotlin raw / go proto = {kr / g['HmsFfiUnix'][0]:.2f}, "
          f"kotlin map / grpcio = {km / p['grpcio unix'][0]:.2f}")
    floor, gj = k["unix raw-socket"][0], k["grpc-java unix"][0]
    print(f"ratios (p50): kotlin map / kotlin raw socket = {km / floor:.2f}, "
          f"kotlin raw / kotlin raw socket = {kr / floor:.2f}, "
          f"kotlin map / grpc-java = {km / gj:.2f}, "
          f"kotlin raw / grpc-java = {kr / gj:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
