"""Durable events from Python (JetStream): a bus connected with ``?jetstream=STREAM`` stores what
it publishes; ``subscribe_durable`` reads through a named consumer with explicit
acknowledgements, redelivery and replay, and resumes after its reader restarts. Each test starts
a nats-server of its own with JetStream in a temporary store (skipped, saying so, only when
nats-server is not installed; `make test` installs it)."""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time
from datetime import datetime, timezone
from typing import Iterator

import pytest

import hms_ffi

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests"))
from nats_server import NATS_BIN, nats_server  # noqa: E402

PROTO = """
    syntax = "proto3"; package shop.v1;
    import "hms/ffi/v1/options.proto";
    message OrderPlaced { option (hms.ffi.v1.topic) = "orders.>"; string id = 1; int64 cents = 2; }
    message Refund { string id = 1; }
"""


def schema() -> hms_ffi.Schema:
    return hms_ffi.Schema.from_source("shop.proto", PROTO)


@pytest.fixture
def js_uri() -> Iterator[str]:
    if not NATS_BIN.is_file():
        pytest.skip(f"nats-server is not installed ({NATS_BIN}): run scripts/install-nats.sh")
    with tempfile.TemporaryDirectory() as store, nats_server("-js", "-sd", store) as address:
        yield f"nats://{address}/events?jetstream=SHOP"


def test_topics_from_the_proto_need_no_declare() -> None:
    bus = hms_ffi.Bus(schema())
    with bus.subscribe("orders.*") as sub:
        bus.publish("orders.eu", {"id": "A1", "cents": 250})
        assert sub.next(timeout=5) == ("orders.eu", {"id": "A1", "cents": 250})
    with pytest.raises(hms_ffi.AlreadyExists):
        bus.declare("orders.>", "shop.v1.Refund")


def test_acknowledged_once_redelivered_otherwise(js_uri: str) -> None:
    bus = hms_ffi.Bus.connect(js_uri, schema())
    for i in range(1, 4):
        bus.publish("orders.eu", {"id": f"o{i}", "cents": i})
    with bus.subscribe_durable("orders.>", "billing", ack_wait=0.4) as sub:
        first = sub.next(timeout=5)
        assert isinstance(first, hms_ffi.Delivery)
        assert (first.topic, first.message, first.sequence, first.delivered) == ("orders.eu", {"id": "o1", "cents": 1}, 1, 1)
        first.ack()
        sub.next(timeout=5).nak()
        sub.next(timeout=5).ack()
        again = sub.next(timeout=5)
        assert (again.message["id"], again.delivered) == ("o2", 2)
        # Not answered: after ack_wait it comes a third time.
        late = sub.next(timeout=5)
        assert (late.message["id"], late.delivered) == ("o2", 3)
        late.ack()
        assert sub.next(timeout=1.0) is None


def test_a_named_consumer_resumes_and_replays_from_a_sequence_or_time(js_uri: str) -> None:
    bus = hms_ffi.Bus.connect(js_uri, schema())
    bus.publish("orders.eu", {"id": "old"})
    time.sleep(0.05)
    since = datetime.now(timezone.utc)
    time.sleep(0.05)
    for i in range(1, 4):
        bus.publish("orders.eu", {"id": f"n{i}"})
    with bus.subscribe_durable("orders.>", "audit", batch=1) as sub:
        for want in ["old", "n1"]:
            d = sub.next(timeout=5)
            assert d.message["id"] == want
            d.ack()
    # Another process (here: another bus) resumes the consumer after the acknowledged ones.
    other = hms_ffi.Bus.connect(js_uri, schema())
    with other.subscribe_durable("orders.>", "audit", batch=1) as sub:
        assert sub.next(timeout=5).message["id"] == "n2"
    with other.subscribe_durable("orders.>", deliver=3) as replay:
        assert replay.next(timeout=5).message["id"] == "n2"
    with other.subscribe_durable("orders.>", deliver=since) as replay:
        assert replay.next(timeout=5).message["id"] == "n1"
    with other.subscribe_durable("orders.>", deliver="new") as replay:
        assert replay.next(timeout=0.3) is None


def test_typed_errors(js_uri: str) -> None:
    plain = hms_ffi.Bus.connect(js_uri.split("?")[0], schema())
    with pytest.raises(hms_ffi.FailedPrecondition, match="jetstream"):
        plain.subscribe_durable("orders.>", "x")
    with pytest.raises(hms_ffi.InvalidArgument):
        hms_ffi.Bus.connect(js_uri.replace("jetstream=SHOP", "stream=SHOP"), schema())
    bus = hms_ffi.Bus.connect(js_uri, schema())
    with pytest.raises(ValueError, match="deliver"):
        bus.subscribe_durable("orders.>", deliver="sometime")
    with pytest.raises(hms_ffi.InvalidArgument, match="cents"):
        bus.publish("orders.eu", {"cents": "many"})
