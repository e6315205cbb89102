"""A nats-server of a test's own, for the Python tests of nats:// (py/tests/test_bus.py,
tests/interop/test_nats.py): the binary scripts/install-nats.sh installs (or the one
HMS_FFI_NATS_SERVER names), on a free port, stopped when the `with` block ends."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import time
from typing import Iterator

ROOT = pathlib.Path(__file__).resolve().parents[1]
NATS_BIN = pathlib.Path(os.environ.get("HMS_FFI_NATS_SERVER", ROOT / "target/tools/nats/bin/nats-server"))


@contextlib.contextmanager
def nats_server(*args: str) -> Iterator[str]:
    """Starts nats-server with `args`, waits (up to 10 s) until it accepts connections, yields
    `127.0.0.1:PORT` and stops it."""
    assert NATS_BIN.is_file(), f"{NATS_BIN} missing: run scripts/install-nats.sh"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([str(NATS_BIN), "-a", "127.0.0.1", "-p", str(port), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and p.poll() is None, "nats-server did not start"
                time.sleep(0.02)
        yield f"127.0.0.1:{port}"
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
