"""Durable events across languages (issue 22): a Go process publishes to a JetStream-backed
``nats://`` bus; a Python durable subscriber receives, naks one event and gets it again, acks
them all; then, after Go published more, a Go reader of the same durable consumer continues
after the acknowledged ones. A nats-server with JetStream of the test's own, on a port of its
own, is stopped at the end; every wait is bounded.

Needs the Go program (``go build -o target/go/busdurable ./cmd/busdurable``; ``make test-interop``
builds it) and nats-server (scripts/install-nats.sh)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any, Dict, Iterator, List

import pytest

import hms_ffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from nats_server import NATS_BIN, nats_server  # noqa: E402

GO_BIN = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "go" / "busdurable"
PROTO = """
    syntax = "proto3"; package shop.v1;
    import "hms/ffi/v1/options.proto";
    message OrderPlaced { option (hms.ffi.v1.topic) = "orders.>"; string id = 1; int64 cents = 2; }
"""


@pytest.fixture
def js_bus(tmp_path: pathlib.Path) -> Iterator[str]:
    """A nats-server with JetStream in tmp_path; yields the bus URI (stream XLANG)."""
    assert NATS_BIN.is_file(), f"nats-server is not installed ({NATS_BIN}): run scripts/install-nats.sh"
    assert GO_BIN.is_file(), f"{GO_BIN} is not built: cd go && go build -o ../target/go/busdurable ./cmd/busdurable"
    store = tmp_path / "js"
    store.mkdir()
    with nats_server("-js", "-sd", str(store)) as address:
        yield f"nats://{address}/events?jetstream=XLANG"


def go(*args: str, proto: pathlib.Path) -> List[Dict[str, Any]]:
    """Runs busdurable (at most 60 s) and returns the JSON lines it printed."""
    mode, uri, *rest = args
    r = subprocess.run([str(GO_BIN), mode, uri, str(proto), *rest], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"busdurable {mode} failed: {r.stderr}"
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_go_publishes_python_naks_and_acks_go_continues(js_bus: str, tmp_path: pathlib.Path) -> None:
    proto = tmp_path / "shop.proto"
    proto.write_text(PROTO)
    go("publish", js_bus, "e1", "e2", "e3", proto=proto)

    bus = hms_ffi.Bus.connect(js_bus, hms_ffi.Schema.from_source("shop.proto", PROTO))
    answered: List[tuple] = []
    with bus.subscribe_durable("orders.>", "relay", ack_wait=5.0) as sub:
        for _ in range(10):  # e1, e2 (nak), e3, e2 again: four deliveries, in whatever order
            if {("e1", 1), ("e2", 2), ("e3", 1)} <= set(answered):
                break
            d = sub.next(timeout=10)
            assert d is not None, f"a delivery within 10 s (so far {answered})"
            assert d.topic == "orders.eu"
            key = (d.message["id"], d.delivered)
            if key == ("e2", 1):
                d.nak()
            else:
                d.ack()
            answered.append(key)
        assert sorted(answered) == [("e1", 1), ("e2", 1), ("e2", 2), ("e3", 1)]
        assert sub.next(timeout=0.5) is None

    go("publish", js_bus, "e4", "e5", proto=proto)
    read = go("read", js_bus, "relay", proto=proto)
    assert [(e["id"], e["delivered"]) for e in read] == [("e4", 1), ("e5", 1)]
    assert [e["sequence"] for e in read] == [4, 5]
