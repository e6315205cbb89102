"""auto://NAME from Python: a Python server in another process announces a name, a Python client
finds it over shared memory (or the transport it is told to use) and says which it picked; a
server in the same process is reached in-process; a killed server's stale record and bad names
are typed errors."""

import pathlib
import signal

import pytest

import hms_ffi
from children import conformance_child, wait_for
from vectors import SERVICE, conformance_server

@pytest.fixture()
def run_dir(tmp_path, monkeypatch) -> pathlib.Path:
    """A private runtime directory (XDG_RUNTIME_DIR) for this test and its server process."""
    d = tmp_path / "run"
    d.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d))
    return d


def test_a_client_finds_a_server_of_another_process_by_name(run_dir) -> None:
    record = run_dir / "hms-ffi" / "auto" / "pyauto.json"
    proc = conformance_child("auto://pyauto", env={"XDG_RUNTIME_DIR": str(run_dir)})
    try:
        wait_for(record, proc)
        client = hms_ffi.connect("auto://pyauto")
        assert client.transport == "shm://pyauto"
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "by name"}, timeout=10)["unicode_text"] == "by name"
        sock = run_dir / "hms-ffi" / "auto" / "pyauto.sock"
        forced = hms_ffi.connect("auto://pyauto?transports=unix")
        assert forced.transport == f"unix://{sock}"
        assert forced.call(f"{SERVICE}/Echo", {"unicode_text": "unix"}, timeout=10)["unicode_text"] == "unix"
        assert forced.endpoints()[0].uri == "auto://pyauto?transports=unix"
        # Killed: its calls fail typed, and its record is stale.
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        with pytest.raises(hms_ffi.Unavailable) as err:
            hms_ffi.connect("auto://pyauto")
        assert "no longer running" in str(err.value)
        with pytest.raises(hms_ffi.Unavailable):
            client.call(f"{SERVICE}/Echo", {"unicode_text": "gone"}, timeout=10)
        assert client.transport is None
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_server_in_the_same_process_is_reached_in_process(run_dir) -> None:
    server = conformance_server()
    assert server.listen("auto://pylocal") == "auto://pylocal"
    try:
        client = hms_ffi.connect("auto://pylocal")
        assert client.transport == "inproc://pylocal"
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "here"}, timeout=10)["unicode_text"] == "here"
        with pytest.raises(hms_ffi.AlreadyExists):
            conformance_server().listen("auto://pylocal")
    finally:
        server.shutdown(0)
    assert not (run_dir / "hms-ffi" / "auto" / "pylocal.json").exists()
    with pytest.raises(hms_ffi.Unavailable, match="no service auto://pylocal"):
        hms_ffi.connect("auto://pylocal")


@pytest.mark.parametrize("uri", ["auto://", "auto://a/b", "auto://x?transports=pigeon", "auto://x?prefer=unix"])
def test_bad_auto_uris_are_invalid_arguments(run_dir, uri) -> None:
    with pytest.raises(hms_ffi.InvalidArgument):
        hms_ffi.connect(uri)
    with pytest.raises(hms_ffi.InvalidArgument):
        conformance_server().listen(uri)
