"""Where a batched call's time goes (issue 22): the CPU time per call of this (client) process
and of the server process, and the wall time, for 100 calls made as one ``client.batch`` and as
100 sequential ``client.call``s, alternating, 64-byte messages over unix. The server is the
release CLI's echo (``hms-ffi serve --echo``), started here and stopped at the end; its CPU
time comes from ``/proc/PID/stat``:

    cargo build --release -p hms-ffi-cli && make py-install
    target/py-venv/bin/python benches/python/batch_cpu.py [ROUNDS] [--server target/release/hms-ffi]

A sequential call's CPU on both sides includes the spin of the blocking lane while it waits
(``HMS_FFI_SPIN_US=0`` in the environment turns the client's off).
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import hms_ffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO = 'syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; } service Echo { rpc Echo(Blob) returns (Blob); }'
METHOD = "bench.v1.Echo/Echo"
BATCH = 100


def server_cpu(pid: int) -> float:
    """The process's user + system CPU seconds."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(sock: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(sock)
            return
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "the echo server did not start"
            time.sleep(0.02)


def measure(client: hms_ffi.Client, pid: int, rounds: int) -> None:
    request = {"data": b"x" * 62}
    calls = [(METHOD, request)] * BATCH
    for _ in range(50):
        client.call(METHOD, request, timeout=10)
        client.batch(calls, timeout=10)
    for kind in ("sequential", "batch") * 2:
        cpu, served, wall = time.process_time(), server_cpu(pid), time.perf_counter()
        for _ in range(rounds):
            if kind == "batch":
                assert all(not isinstance(r, Exception) for r in client.batch(calls, timeout=10))
            else:
                for _ in range(BATCH):
                    client.call(METHOD, request, timeout=10)
        n = rounds * BATCH
        per = lambda seconds: 1e6 * seconds / n  # noqa: E731
        print(
            f"{kind:10s} client CPU {per(time.process_time() - cpu):5.1f} µs/call, "
            f"server CPU {per(server_cpu(pid) - served):5.1f} µs/call, "
            f"wall {per(time.perf_counter() - wall):5.1f} µs/call"
        )


def main() -> None:
    args = sys.argv[1:]
    binary = str(ROOT / "target/release/hms-ffi")
    if "--server" in args:
        at = args.index("--server")
        binary = args[at + 1]
        del args[at : at + 2]
    rounds = int(args[0]) if args else 200
    with tempfile.TemporaryDirectory() as tmp:
        proto, sock = os.path.join(tmp, "bench.proto"), os.path.join(tmp, "echo.sock")
        pathlib.Path(proto).write_text(PROTO)
        cmd = [binary, "serve", "--echo", "--schema", proto, "--listen", f"unix://{sock}"]
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(sock, server)
            with hms_ffi.connect(f"unix://{sock}") as client:
                measure(client, server.pid, rounds)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
