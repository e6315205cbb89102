"""Deadline and cancellation through a chain of four languages (issue 23): Python calls a Go
server, whose handler calls a Node server, whose handler calls a Ruby server with a slow handler
(tests/chain). No link passes the deadline or the cancellation by hand: Go passes its handler's
context.Context, as Go code does; Node and Ruby inherit them from the handler they run in.

- A 300 ms deadline ends the call DEADLINE_EXCEEDED in Python within 350 ms, each hop sees
  DEADLINE_EXCEEDED within 350 ms, and the Ruby handler sees its call cancelled.
- Cancelling Python's call (an asyncio task) cancels the Ruby handler (its context says so).

Needs the Go link (`go build -o target/go/chainhop ./cmd/chainhop`), the Node package's addon and
the gem (`make test-interop` builds them)."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import select
import subprocess
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import hms_ffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAIN = ROOT / "tests" / "chain"
GO_BIN = ROOT / "target" / "go" / "chainhop"
CALL = "chain.v1.Chain/Call"


def start(cmd: List[str], env: Dict[str, str]) -> subprocess.Popen:
    """Starts a link and waits (up to 60 s) for its "ready"."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().strip() if ready else "nothing within 60 s"
    if line != "ready":
        proc.kill()
        proc.wait(timeout=10)
        pytest.fail(f"{cmd[0]} did not start: {line!r}")
    return proc


def stop(procs: List[subprocess.Popen]) -> None:
    """Stops the links: SIGTERM, then SIGKILL for one still running after 10 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture
def chain(tmp_path: pathlib.Path) -> Iterator[Tuple[Dict[str, str], pathlib.Path]]:
    log = tmp_path / "events.jsonl"
    log.touch()
    env = {**os.environ, "HMS_CHAIN_LOG": str(log), "GEM_PATH": str(ROOT / "target" / "ruby" / "gems")}
    uris = {lang: f"unix://{tmp_path / lang}.sock" for lang in ("go", "node", "ruby")}
    procs = []
    try:
        procs.append(start([str(GO_BIN), str(CHAIN / "chain.proto"), uris["go"]], env))
        procs.append(start(["node", str(CHAIN / "hop.js"), uris["node"]], env))
        procs.append(start(["ruby", str(CHAIN / "last.rb"), uris["ruby"]], env))
        yield uris, log
    finally:
        stop(procs)


def events(log: pathlib.Path, tag: str, count: int) -> Dict[str, Dict[str, Any]]:
    """The links' events for `tag`, by language, once `count` have come (within 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        seen = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        mine = [e for e in seen if e["tag"] == tag]
        if len(mine) >= count or time.monotonic() > deadline:
            return {e["lang"]: e for e in mine}
        time.sleep(0.02)


def hop(uris: Dict[str, str], tag: str, sleep_ms: int) -> Dict[str, Any]:
    return {"next": [uris["node"], uris["ruby"]], "sleep_ms": sleep_ms, "tag": tag}


def test_a_deadline_ends_the_chain_everywhere_within_350_ms(chain: Tuple[Dict[str, str], pathlib.Path]) -> None:
    uris, log = chain
    client = hms_ffi.connect(uris["go"])
    # Every link connected first, so that the timed call measures the calls, not the connects.
    warm = client.call(CALL, hop(uris, "warm", 0), timeout=10)
    assert warm["lang"] == "ruby" and 0 < warm["left_ms"] <= 10_000, warm
    start = time.monotonic()
    with pytest.raises(hms_ffi.DeadlineExceeded):
        client.call(CALL, hop(uris, "deadline", 5_000), timeout=0.3)
    elapsed = time.monotonic() - start
    assert elapsed < 0.35, f"Python saw the end after {elapsed * 1000:.0f} ms"
    seen = events(log, "deadline", 3)
    assert set(seen) == {"go", "node", "ruby"}, seen
    assert seen["ruby"]["cancelled"] is True and 0 < seen["ruby"]["left_ms"] <= 300, seen["ruby"]
    for lang in ("go", "node"):
        assert seen[lang]["code"] == "DEADLINE_EXCEEDED", seen[lang]
    for lang, event in seen.items():
        assert event["elapsed_ms"] <= 350, (lang, event)


def test_cancelling_the_first_call_cancels_the_last_handler(chain: Tuple[Dict[str, str], pathlib.Path]) -> None:
    uris, log = chain
    client = hms_ffi.connect(uris["go"])
    client.call(CALL, hop(uris, "warm", 0), timeout=10)

    async def cancel_soon() -> float:
        task = asyncio.ensure_future(client.call_async(CALL, hop(uris, "cancel", 10_000), timeout=30))
        await asyncio.sleep(0.2)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return start

    cancelled_at = asyncio.run(cancel_soon())
    seen = events(log, "cancel", 3)
    assert seen.get("ruby", {}).get("cancelled") is True, seen
    # The Ruby handler stopped waiting long before its 10 s: the cancellation reached it.
    assert seen["ruby"]["elapsed_ms"] < 5_000, seen["ruby"]
    assert time.monotonic() - cancelled_at < 10
