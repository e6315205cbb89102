"""Across processes: a Python server in another process, Ctrl-C and SIGTERM, and a client killed
mid-call. Children get the SIGINT disposition each test needs (preexec_fn), never this process's:
started from a background job, this process has SIGINT ignored, and so would its children."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Callable, Optional, Tuple

import pytest

import hms_ffi
from children import wait_for as _wait_for
from vectors import PROTO, SERVICE, conformance_server

HERE = pathlib.Path(__file__).parent


def _finish(proc: subprocess.Popen, timeout: float = 15) -> Tuple[str, str]:
    """The child's output once it ended; past `timeout` it is killed and the test fails with it."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise AssertionError(f"the child did not end within {timeout}s\nstdout:\n{out}\nstderr:\n{err}") from None


def _sigint(disposition: signal.Handlers) -> Callable[[], None]:
    """A preexec_fn giving the child SIGINT as `disposition` (SIG_DFL: an interactive shell's
    child; SIG_IGN: a background job's), whatever this process inherited."""
    return lambda: signal.signal(signal.SIGINT, disposition)


def _server_child(tmp_path: pathlib.Path, disposition: signal.Handlers, grace: Optional[float] = None) -> subprocess.Popen:
    """A Python server process serving the conformance service on tmp_path/child.sock; it prints
    "clean exit" after serve() returns, and touches tmp_path/draining once serve() has put the
    previous SIGINT handler back (that is, a first signal arrived)."""
    script = textwrap.dedent(
        f"""
        import pathlib, signal, sys, threading, time
        sys.path.insert(0, {str(HERE)!r})
        from vectors import conformance_server
        server = conformance_server()
        server.listen("unix://{tmp_path / 'child.sock'}")
        before = signal.getsignal(signal.SIGINT)

        def watch():
            while signal.getsignal(signal.SIGINT) is before:
                time.sleep(0.005)
            while signal.getsignal(signal.SIGINT) is not before:
                time.sleep(0.005)
            pathlib.Path({str(tmp_path / 'draining')!r}).touch()

        threading.Thread(target=watch, daemon=True).start()
        server.serve({"" if grace is None else f"grace={grace}"})
        print("clean exit", flush=True)
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint(disposition),
    )


def test_server_in_another_process_stops_cleanly_on_ctrl_c(tmp_path) -> None:
    sock = tmp_path / "child.sock"
    proc = _server_child(tmp_path, signal.SIG_DFL)
    try:
        _wait_for(sock, proc)
        client = hms_ffi.connect(f"unix://{sock}")
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "hi"})["unicode_text"] == "hi"
        proc.send_signal(signal.SIGINT)
        out, err = _finish(proc)
        assert proc.returncode == 0, err
        assert "clean exit" in out
        assert not sock.exists()
    finally:
        proc.kill()
        proc.wait(timeout=10)


class _CallInThread:
    """A client call on its own thread; .result() is its reply or the error it raised."""

    def __init__(self, uri: str, method: str, request: dict) -> None:
        self.outcome: list = []
        self.thread = threading.Thread(target=self._run, args=(uri, method, request), daemon=True)
        self.thread.start()

    def _run(self, uri: str, method: str, request: dict) -> None:
        try:
            self.outcome.append(hms_ffi.connect(uri).call(method, request, timeout=60))
        except Exception as e:  # noqa: BLE001
            self.outcome.append(e)

    def result(self, timeout: float) -> object:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the call did not end within {timeout}s"
        return self.outcome[0]


@pytest.mark.parametrize(
    "sig, disposition",
    [(signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.SIG_DFL), (signal.SIGINT, signal.SIG_IGN)],
    ids=["SIGTERM", "SIGINT", "SIGINT-inherited-ignored"],
)
def test_serve_drains_the_call_in_flight_and_returns_on_a_signal(tmp_path, sig, disposition) -> None:
    """SIGTERM and SIGINT stop serve() gracefully, also when the process started with SIGINT
    ignored (a background job), since serve() installs its own handlers."""
    sock = tmp_path / "child.sock"
    proc = _server_child(tmp_path, disposition)
    try:
        _wait_for(sock, proc)
        call = _CallInThread(f"unix://{sock}", f"{SERVICE}/Sleep", {"millis": 1500})
        started = time.monotonic()
        time.sleep(0.5)  # the call is in flight (it takes 1.5 s)
        assert call.thread.is_alive(), call.outcome
        proc.send_signal(sig)
        assert call.result(timeout=10) == {}, "the call in flight did not complete"
        assert time.monotonic() - started >= 1.4
        out, err = _finish(proc)
        assert proc.returncode == 0, f"status {proc.returncode}\n{err}"
        assert "clean exit" in out, err
        assert not sock.exists()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_second_ctrl_c_during_the_drain_cancels_it_with_keyboard_interrupt(tmp_path) -> None:
    sock = tmp_path / "child.sock"
    proc = _server_child(tmp_path, signal.SIG_DFL, grace=30.0)
    try:
        _wait_for(sock, proc)
        call = _CallInThread(f"unix://{sock}", f"{SERVICE}/Sleep", {"millis": 30_000})
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _wait_for(tmp_path / "draining", proc)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = _finish(proc, timeout=10)
        assert time.monotonic() - started < 10
        assert proc.returncode != 0 and "KeyboardInterrupt" in err, f"status {proc.returncode}\n{out}\n{err}"
        assert "clean exit" not in out
        assert isinstance(call.result(timeout=10), hms_ffi.Error)
    finally:
        proc.kill()
        proc.wait(timeout=10)


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
    assert proc.stdout is not None and proc.stdout.readline().strip() == "calling"  # "" if it died
    for _ in range(100):
        if server._native.inflight == 1:
            break
        time.sleep(0.02)
    assert server._native.inflight == 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
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
    assert client.schema.services() == ["hms.conformance.v1.Conformance", "hms.conformance.v1.Semantics"]
    assert hms_ffi.Schema.load(PROTO).services() == client.schema.services()
    server.shutdown()
