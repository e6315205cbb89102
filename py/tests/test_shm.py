"""shm:// from Python with no binding change: a Python server in another process serves the
conformance service over shared memory, a Python client calls it, and when the server process is
killed mid-call the call ends Unavailable and nothing is left in /dev/shm."""

import os
import pathlib
import signal
import threading
import time

import hms_ffi
from children import conformance_child, wait_for
from vectors import SERVICE

def test_python_to_python_over_shm_and_a_killed_server(tmp_path) -> None:
    before = sorted(os.listdir("/dev/shm"))
    sock = tmp_path / "py.sock"
    proc = conformance_child(f"shm://{sock}")
    try:
        wait_for(sock, proc)
        client = hms_ffi.connect(f"shm://{sock}")
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "über shm"}, timeout=10)["unicode_text"] == "über shm"
        blob = bytes(range(256)) * 256  # 64 KiB in one message
        assert client.call(f"{SERVICE}/Echo", {"blob": blob}, timeout=10)["blob"] == blob

        outcome: list = []

        def slow() -> None:
            try:
                outcome.append(client.call(f"{SERVICE}/Sleep", {"millis": 20000}, timeout=30))
            except Exception as e:  # noqa: BLE001
                outcome.append(e)

        t = threading.Thread(target=slow, daemon=True)
        t.start()
        time.sleep(0.3)
        start = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        t.join(10)
        assert not t.is_alive(), "the call did not end within 10 s of the kill"
        assert isinstance(outcome[0], hms_ffi.Unavailable), repr(outcome[0])
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert sorted(os.listdir("/dev/shm")) == before
