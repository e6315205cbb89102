"""Publish/subscribe from Python: typed topics, wildcards, queue groups, the sync callback and the
async iterator, on the in-process bus and over a nats-server of the test's own (skipped, saying
so, only when nats-server is not installed; `make test` installs it)."""

from __future__ import annotations

import asyncio
import pathlib
import sys
import threading
from typing import Iterator, List, Tuple

import pytest

import hms_ffi

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests"))
from nats_server import NATS_BIN, nats_server  # noqa: E402
PROTO = """
    syntax = "proto3"; package shop.v1;
    message OrderPlaced { string id = 1; int64 cents = 2; }
    message Refund { string id = 1; bool full = 2; }
"""


def declared(bus: hms_ffi.Bus) -> hms_ffi.Bus:
    bus.declare("orders.>", "shop.v1.OrderPlaced")
    bus.declare("refunds.*", "shop.v1.Refund")
    return bus


def schema() -> hms_ffi.Schema:
    return hms_ffi.Schema.from_source("shop.proto", PROTO)


def collect(sub: hms_ffi.Subscription, wait: float = 0.2) -> List[Tuple[str, dict]]:
    out = []
    while (event := sub.next(timeout=wait)) is not None:
        out.append(event)
    return out


def test_wildcards_queue_groups_and_typed_topics_in_process() -> None:
    bus = declared(hms_ffi.Bus(schema()))
    with bus.subscribe("orders.*") as one, bus.subscribe("orders.>", queue="w") as q1, bus.subscribe("orders.>", queue="w") as q2:
        for i in range(10):
            bus.publish("orders.eu" if i % 2 else "orders.eu.paris", {"id": str(i), "cents": i})
        assert [m["id"] for _, m in collect(one)] == ["1", "3", "5", "7", "9"]
        n1, n2 = len(collect(q1)), len(collect(q2))
        assert (n1 + n2, n1 > 0, n2 > 0) == (10, True, True)
    with pytest.raises(hms_ffi.InvalidArgument) as bad:
        bus.publish("orders.eu", {"cents": "ten"})
    assert bad.value.field_violations[0][0] == "cents"
    with pytest.raises(hms_ffi.NotFound):
        bus.publish("invoices.eu", {"id": "x"})


def test_sync_callback_and_async_iterator() -> None:
    bus = declared(hms_ffi.Bus(schema()))
    got: List[str] = []
    done = threading.Event()

    def on_refund(topic: str, message: dict) -> None:
        got.append(f"{topic}:{message['id']}:{message['full']}")
        done.set()

    sub = bus.subscribe("refunds.*", on_refund)
    bus.publish("refunds.eu", {"id": "r1", "full": True})
    assert done.wait(5), "the callback was not called"
    sub.close()
    assert got == ["refunds.eu:r1:True"]

    async def main() -> List[str]:
        sub = bus.subscribe("orders.>")
        for i in range(3):
            bus.publish(f"orders.n{i}", {"id": str(i)})
        seen = []
        try:
            async for topic, message in sub:
                seen.append(f"{topic}:{message['id']}")
                if len(seen) == 3:
                    break
        finally:
            sub.close()  # also ends a read still waiting when the outer timeout cancels us
        return seen

    assert asyncio.run(asyncio.wait_for(main(), 10)) == ["orders.n0:0", "orders.n1:1", "orders.n2:2"]


def test_a_slow_subscriber_drops_and_counts() -> None:
    bus = declared(hms_ffi.Bus(schema()))
    with bus.subscribe("orders.>", pending=2) as slow:
        for i in range(5):
            bus.publish("orders.eu", {"id": str(i)})
        assert slow.dropped == 3
        assert len(collect(slow)) == 2


@pytest.fixture
def nats_uri() -> Iterator[str]:
    if not NATS_BIN.is_file():
        pytest.skip(f"nats-server is not installed ({NATS_BIN}): run scripts/install-nats.sh")
    with nats_server() as address:
        yield f"nats://{address}/shop"


def test_events_over_nats_are_checked_by_the_subscribers_declaration(nats_uri: str) -> None:
    publisher = declared(hms_ffi.Bus.connect(nats_uri, schema()))
    consumer = hms_ffi.Bus.connect(nats_uri, schema())
    consumer.declare("orders.>", "shop.v1.OrderPlaced")
    consumer.declare("refunds.*", "shop.v1.OrderPlaced")  # believes refunds are orders
    with consumer.subscribe(">") as sub:
        publisher.publish("orders.eu", {"id": "o1", "cents": 5})
        publisher.publish("refunds.eu", {"id": "r1", "full": True})
        assert sub.next(timeout=5) == ("orders.eu", {"id": "o1", "cents": 5})
        with pytest.raises(hms_ffi.InvalidArgument, match="declared type"):
            sub.next(timeout=5)


def test_python_server_and_client_over_nats(nats_uri: str) -> None:
    uri = nats_uri.replace("/shop", "/rpc")
    schema = hms_ffi.Schema.from_source("rpc.proto", PROTO + 'service Shop { rpc Place(OrderPlaced) returns (Refund); }')
    server = hms_ffi.Server(schema)

    @server.method("shop.v1.Shop/Place")
    def place(req: dict, ctx: hms_ffi.Context) -> dict:
        if req["cents"] < 0:
            raise hms_ffi.InvalidArgument("negative amount")
        return {"id": req["id"], "full": ctx.metadata.get("x-full") == "yes"}

    assert server.listen(uri) == uri
    client = hms_ffi.connect(uri)
    try:
        assert client.call("shop.v1.Shop/Place", {"id": "a", "cents": 5}, metadata={"x-full": "yes"}) == {"id": "a", "full": True}
        with pytest.raises(hms_ffi.InvalidArgument, match="negative amount"):
            client.call("shop.v1.Shop/Place", {"id": "b", "cents": -1})
    finally:
        client.close()
        server.shutdown(grace=1.0)
