"""The fault proof of issue 23 in every language that starts calls: two server processes of one
service (tests/faults/server.py, the Python binding) are killed with SIGKILL and restarted in
turn while a client program in each language makes its calls to both, over unix:// and grpc://.

Each client (client.py, client.js, Go's cmd/faultclient, client.rb, client.php, Kotlin's
FaultsKt) connects with the resilience options of core/tests/faults.rs (round_robin,
waitForReady, a retry policy of 5 attempts on UNAVAILABLE), runs concurrent callers (PHP: one)
doing CALLS calls of the IDEMPOTENT Get and CALLS of the plain Add, checks that every reply
carries its caller's id, and prints a JSON summary. The servers append each id they run to a
log before replying (a SIGKILL loses no count), and this test checks:

- Get: every call succeeded, and no id ran more than maxAttempts (5) times;
- Add: each call succeeded or failed UNAVAILABLE, no id ran twice, and every success ran;
- no reply went to the wrong caller, no other error, and the servers restarted at least twice
  during the calls (a client that finishes sooner runs again with new ids, up to 20 times).

HMS_FAULT_LANG_CALLS sets CALLS (1 000 by default). Swift has no toolchain here. Needs what
`make test-faults` builds: the Python package, target/go/faultclient, the Node addon, the gem,
the PHP extension and the Kotlin classes; a missing one fails the test (never a skip)."""

from __future__ import annotations

import collections
import json
import os
import pathlib
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, Iterator, List, Optional

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTO = HERE / "counter.proto"
CALLS = int(os.environ.get("HMS_FAULT_LANG_CALLS", "1000"))
# At most this many runs of a client, until the servers have restarted twice under its calls.
ROUNDS = 20
CALLERS = 8
MAX_ATTEMPTS = 5
RESILIENCE = json.dumps({
    "loadBalancing": "round_robin",
    "waitForReady": True,
    "backoff": {"initial": "0.01s", "max": "0.05s", "minConnectTimeout": "1s"},
    "ejection": {"consecutiveFailures": 3, "baseTime": "0.05s"},
    "serviceConfig": {"methodConfig": [{"name": [{"service": "res.v1.Counter"}],
        "retryPolicy": {"maxAttempts": MAX_ATTEMPTS, "initialBackoff": "0.005s", "maxBackoff": "0.05s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]},
})


def client_command(lang: str) -> List[str]:
    """How to start `lang`'s client; fails the test when what it needs was not built."""
    gems = ROOT / "target" / "ruby" / "gems"
    needs = {
        "python": [],
        "node": [ROOT / "node" / "hms-ffi.linux-x64-gnu.node"],
        "go": [ROOT / "target" / "go" / "faultclient"],
        "ruby": [gems],
        "php": [ROOT / "target" / "php" / "hms_ffi.so"],
        "kotlin": [ROOT / "kotlin" / "target" / "classpath.txt",
                   ROOT / "kotlin" / "target" / "test-classes" / "io" / "github" / "hmsffi" / "FaultsKt.class"],
    }[lang]
    missing = [str(p) for p in needs if not p.exists()]
    if missing:
        pytest.fail(f"{lang}: {', '.join(missing)} missing: run `make test-faults`")
    return {
        "python": [sys.executable, str(HERE / "client.py")],
        "node": ["node", str(HERE / "client.js")],
        "go": [str(ROOT / "target" / "go" / "faultclient")],
        "ruby": ["env", f"GEM_PATH={gems}", "ruby", str(HERE / "client.rb")],
        "php": ["php", "-d", f"extension={ROOT / 'target' / 'php' / 'hms_ffi.so'}", str(HERE / "client.php")],
        "kotlin": [str(ROOT / "kotlin" / "run.sh"), "io.github.hmsffi.FaultsKt"],
    }[lang]


class Servers:
    """Two Counter servers on `uris`, killed (SIGKILL) and replaced in turn by a thread. Each
    replacement is started ahead in standby (imported, its handlers registered) and told to
    listen right after the kill, so that a restart takes milliseconds, not a Python start."""

    def __init__(self, uris: List[str], log: pathlib.Path) -> None:
        self.uris, self.log = uris, log
        self.procs: List[Optional[subprocess.Popen]] = [None, None]
        self.standby: List[Optional[subprocess.Popen]] = [None, None]
        self.restarts = 0
        self.error: Optional[str] = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._flap, daemon=True)

    def _spawn(self, i: int) -> None:
        cmd = [sys.executable, str(HERE / "server.py"), str(PROTO), self.uris[i], str(self.log), f"s{i}", "--standby"]
        self.standby[i] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _take_over(self, i: int) -> None:
        """Tells server `i`'s standby to listen, waits (up to 30 s) for it, and starts the next."""
        uri, proc = self.uris[i], self.standby[i]
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        if uri.startswith("unix://"):
            # The socket file of a server killed with SIGKILL stays behind.
            pathlib.Path(uri[len("unix://"):]).unlink(missing_ok=True)
        proc.stdin.write("listen\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline().strip() if ready else "nothing within 30 s"
        self.procs[i] = proc
        if line != "ready":
            raise RuntimeError(f"server {i} on {uri} did not start: {line!r}")
        self._spawn(i)

    @staticmethod
    def _kill(proc: Optional[subprocess.Popen]) -> None:
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def start(self) -> None:
        for i in (0, 1):
            self._spawn(i)
            self._take_over(i)
        self.thread.start()

    def _flap(self) -> None:
        i = 0
        try:
            while not self.stopping.wait(0.1):
                self._kill(self.procs[i])
                self._take_over(i)
                self.restarts += 1
                i = 1 - i
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = f"{type(e).__name__}: {e}"

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=60)
        for proc in self.procs + self.standby:
            self._kill(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["unix", "grpc"])
def servers(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Servers]:
    # Socket paths stay short (pytest's tmp_path may pass the 108 bytes a socket path may have).
    sockets = pathlib.Path(tempfile.mkdtemp(prefix="hms-faults-"))
    if request.param == "unix":
        uris = [f"unix://{sockets}/one.sock", f"unix://{sockets}/two.sock"]
    else:
        uris = [f"grpc://127.0.0.1:{free_port()}", f"grpc://127.0.0.1:{free_port()}"]
    s = Servers(uris, tmp_path / "runs.log")
    try:
        s.start()
        yield s
    finally:
        s.stop()
        shutil.rmtree(sockets, ignore_errors=True)


def one_round(lang: str, servers: Servers, prefix: str) -> int:
    """Runs `lang`'s client once (its ids start with `prefix`), checks every rule on what it
    and the servers saw, and returns how many restarts happened while it ran."""
    callers = 1 if lang == "php" else CALLERS
    per = CALLS // callers
    total = per * callers
    cmd = client_command(lang) + [str(PROTO), RESILIENCE, prefix, str(total), str(callers)] + servers.uris
    before, start = servers.restarts, time.monotonic()
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=ROOT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{lang}: no summary within 180 s: {e.stderr!r}")
    restarts, elapsed = servers.restarts - before, time.monotonic() - start
    assert servers.error is None, servers.error
    assert run.returncode == 0, f"{lang} exited {run.returncode}: {run.stdout[-2000:]}{run.stderr[-3000:]}"
    lines = run.stdout.strip().splitlines()
    assert lines, f"{lang} printed nothing: {run.stderr[-3000:]}"
    summary = json.loads(lines[-1])
    print(f"{prefix}: {summary} in {elapsed:.1f} s, {restarts} restarts")
    assert (summary["wrong"], summary["other"]) == (0, 0), summary["errors"]
    assert summary["get"] == {"ok": total, "unavailable": 0}, summary
    assert summary["add"]["ok"] + summary["add"]["unavailable"] == total, summary

    runs = collections.Counter(servers.log.read_text().split())
    ids = {kind: [f"{prefix}-{kind}-{t}-{n}" for t in range(callers) for n in range(per)] for kind in ("get", "add")}
    gets = [runs[i] for i in ids["get"]]
    assert min(gets) >= 1, "a Get that succeeded never ran"
    assert max(gets) <= MAX_ATTEMPTS, f"a Get ran {max(gets)} times (at most {MAX_ATTEMPTS})"
    adds = [runs[i] for i in ids["add"]]
    assert max(adds) <= 1, f"an Add ran {max(adds)} times"
    assert sum(adds) >= summary["add"]["ok"], "an Add answered that never ran"
    return restarts


@pytest.mark.parametrize("lang", ["python", "node", "go", "ruby", "php", "kotlin"])
def test_calls_survive_servers_restarting_in_turn(lang: str, servers: Servers) -> None:
    # A fast client (a release build) can make its calls between two restarts, so it runs
    # again, with new ids, until the servers have restarted at least twice under its calls.
    scheme = servers.uris[0].split(":")[0]
    restarts = 0
    for round_ in range(1, ROUNDS + 1):
        restarts += one_round(lang, servers, f"{lang}-{scheme}-r{round_}")
        if restarts >= 2:
            break
    assert restarts >= 2, f"the servers restarted {restarts} times during {ROUNDS} rounds of calls"
