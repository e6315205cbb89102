"""Across processes: a Python server in another process, Ctrl-C, and a client killed mid-call."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import hms_ffi
from vectors import PROTO, SERVICE, conformance_server

HERE = pathlib.Path(__file__).parent


def _wait_for(path: pathlib.Path, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if path.exists():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_server_in_another_process_stops_cleanly_on_ctrl_c(tmp_path) -> None:
    sock = tmp_path / "child.sock"
    script = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(HERE)!r})
        from vectors import conformance_server
        server = conformance_server()
        server.listen("unix://{sock}")
        server.serve()
        print("clean exit")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(sock, proc)
        client = hms_ffi.connect(f"unix://{sock}")
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "hi"})["unicode_text"] == "hi"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "clean exit" in out
        assert not sock.exists()
    finally:
        proc.kill()


def test_client_killed_mid_call_does_not_hurt_the_server(tmp_path) -> None:
    sock = tmp_path / "victim.sock"
    server = conformance_server()
    server.listen(f"unix://{sock}")
    script = textwrap.dedent(
        f"""
        import hms_ffi
        c = hms_ffi.connect("unix://{sock}")
        print("calling", flush=True)
        c.call("{SERVICE}/Sleep", {{"millis": 30000}})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "calling"
    for _ in range(100):
        if server._native.inflight == 1:
            break
        time.sleep(0.02)
    assert server._native.inflight == 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(200):
        if server._native.inflight == 0:
            break
        time.sleep(0.02)
    assert server._native.inflight == 0, "the abandoned call was not cancelled"
    assert hms_ffi.connect(f"unix://{sock}").call(f"{SERVICE}/Echo", {})["weight_mg"] == 0
    server.shutdown()


def test_schema_is_discovered_from_the_server(tmp_path) -> None:
    server = conformance_server()
    server.listen(f"unix://{tmp_path}/d.sock")
    client = hms_ffi.connect(f"unix://{tmp_path}/d.sock")
    kinds = {m.name.split("/")[1]: m.kind for m in client.methods()}
    assert kinds["Echo"] == "unary" and kinds["Bidi"] == "bidi_streaming" and kinds["ServerStream"] == "server_streaming"
    assert client.schema.services() == ["hms.conformance.v1.Conformance"]
    assert hms_ffi.Schema.load(PROTO).services() == client.schema.services()
    server.shutdown()
