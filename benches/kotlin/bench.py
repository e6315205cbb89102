"""64-byte echo over a unix socket: Kotlin client -> Kotlin server, next to the Python and Go
hms-ffi figures measured in the same run (make bench-kotlin).

    python benches/kotlin/bench.py [--python PY] [--go GO] [-n N]

* Kotlin: kotlin/run.sh io.github.hmsffi.BenchKt, server and client in two JVMs; the `map` form
  (typed JSON across the UniFFI boundary) and the `raw-bytes` form (protobuf bytes).
* Python: benches/python/echo_bench.py (dict client -> dict server, each its own process;
  grpcio beside it).
* Go: benches/go (proto.Message and map clients, server in the same process; grpc-go beside it).

Prints each figure as measured and the Kotlin/Python and Kotlin/Go p50 ratios.
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


def kotlin(n: int) -> dict:
    sock = os.path.join(tempfile.mkdtemp(prefix="hms-kbench-"), "echo.sock")
    server = subprocess.Popen([RUN, "io.github.hmsffi.BenchKt", "serve", f"unix://{sock}"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready", "kotlin server did not start"
        out = subprocess.run([RUN, "io.github.hmsffi.BenchKt", "client", f"unix://{sock}", str(n)],
                             capture_output=True, text=True, check=True).stdout
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
    ap.add_argument("-n", type=int, default=20000, help="sequential Kotlin calls per form")
    args = ap.parse_args()
    print("== Kotlin ==")
    k = kotlin(args.n)
    print("\n== Python ==")
    p = python(args.python)
    print("\n== Go ==")
    g = go(args.go)
    rows = [
        ("kotlin map (typed JSON)", k["unix map"]),
        ("kotlin raw bytes", k["unix raw-bytes"]),
        ("python dict", p["hms-ffi unix"]),
        ("go proto.Message", g["HmsFfiUnix"]),
        ("go map", g["HmsFfiUnixMap"]),
        ("grpcio (python)", p["grpcio unix"]),
        ("grpc-go", g["GrpcGoUnix"]),
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
