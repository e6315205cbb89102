"""Converters on the bus from Python: the events a ``Bus`` publishes and receives, and the
deliveries of a durable subscription, go through the bus's converters (the built-ins by default,
as ``connect`` and ``Server`` have them), in process and over a nats-server of the test's own
(skipped, saying so, only when nats-server is not installed; `make test` installs it). A
converter that raises is ``InvalidArgument`` with the value's path, and the subscription goes on."""

from __future__ import annotations

import datetime
import pathlib
import sys
from decimal import Decimal
from typing import Any, Dict

import pytest

import hms_ffi
from hms_ffi.converters import DECIMAL

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests"))
from nats_server import NATS_BIN, nats_server  # noqa: E402
from test_bus_jetstream import js_uri  # noqa: E402,F401  (the fixture: a nats-server with JetStream)

PROTO = """
    syntax = "proto3"; package shop.v1;
    import "google/type/decimal.proto";
    import "google/type/money.proto";
    import "google/type/date.proto";
    message Line { string sku = 1; google.type.Decimal price = 2; }
    message Priced {
      string id = 1; google.type.Decimal price = 2; google.type.Money total = 3;
      google.type.Date due = 4; repeated Line lines = 5;
    }
"""


def schema() -> hms_ffi.Schema:
    return hms_ffi.Schema.from_source("priced.proto", PROTO)


def declared(bus: hms_ffi.Bus) -> hms_ffi.Bus:
    bus.declare("prices.>", "shop.v1.Priced")
    return bus


def priced(id: str, last: str = "0.25") -> Dict[str, Any]:
    return {
        "id": id,
        "price": Decimal("1.50"),
        "total": hms_ffi.Money(Decimal("12.345"), "EUR"),
        "due": datetime.date(2026, 12, 24),
        "lines": [{"sku": "a", "price": Decimal("1")}, {"sku": "b", "price": Decimal(last)}],
    }


def _refuse_13(m: Dict[str, Any]) -> Decimal:
    if m["value"] == "13":
        raise ValueError("unlucky")
    return Decimal(m["value"])


#: The built-in Decimal, except that it refuses to make 13 on the way in.
PICKY = hms_ffi.Converter(message="google.type.Decimal", to_message=DECIMAL.to_message, from_message=_refuse_13)


def assert_converted(message: Dict[str, Any], id: str) -> None:
    assert message == priced(id)
    assert isinstance(message["price"], Decimal) and isinstance(message["due"], datetime.date)
    assert message["total"] == hms_ffi.Money(Decimal("12.345"), "EUR")


def test_events_convert_both_ways_in_process() -> None:
    bus = declared(hms_ffi.Bus(schema()))
    raw = declared(hms_ffi.Bus(schema(), converters=[]))
    with bus.subscribe("prices.*") as sub:
        bus.publish("prices.eu", priced("p1"))
        topic, message = sub.next(timeout=5) or ("", {})
        assert topic == "prices.eu"
        assert_converted(message, "p1")
    # Without converters the same event is the messages' dicts, and a Decimal is refused.
    with raw.subscribe("prices.*") as sub:
        raw.publish("prices.eu", {"id": "p2", "price": {"value": "2.5"}, "due": {"year": 2026, "month": 1, "day": 2}})
        _, message = sub.next(timeout=5) or ("", {})
        assert (message["price"], message["due"]) == ({"value": "2.5"}, {"year": 2026, "month": 1, "day": 2})
        with pytest.raises(hms_ffi.InvalidArgument):
            raw.publish("prices.eu", priced("p3"))


def test_a_converter_that_raises_has_the_path_and_the_subscription_goes_on() -> None:
    bus = declared(hms_ffi.Bus(schema(), converters=[*hms_ffi.BUILTINS, PICKY]))
    with pytest.raises(hms_ffi.InvalidArgument) as e:
        bus.publish("prices.eu", {**priced("p0"), "lines": [{"price": Decimal(1)}, {"price": 1.25}]})
    field, why = e.value.field_violations[0]
    assert field == "lines[1].price"
    assert why.startswith("converter for google.type.Decimal failed: TypeError: expected decimal.Decimal")
    with bus.subscribe("prices.*") as sub:
        bus.publish("prices.eu", priced("p1", last="13"))
        bus.publish("prices.eu", priced("p2"))
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            sub.next(timeout=5)
        assert e.value.field_violations[0][0] == "lines[1].price"
        assert "ValueError: unlucky" in e.value.field_violations[0][1]
        _, message = sub.next(timeout=5) or ("", {})
        assert_converted(message, "p2")


def test_events_convert_over_nats() -> None:
    if not NATS_BIN.is_file():
        pytest.skip(f"nats-server is not installed ({NATS_BIN}): run scripts/install-nats.sh")
    with nats_server() as address:
        uri = f"nats://{address}/shop"
        publisher = declared(hms_ffi.Bus.connect(uri, schema()))
        consumer = declared(hms_ffi.Bus.connect(uri, schema(), converters=[*hms_ffi.BUILTINS, PICKY]))
        with consumer.subscribe("prices.*") as sub:
            publisher.publish("prices.eu", priced("p1"))
            publisher.publish("prices.eu", priced("p2", last="13"))
            publisher.publish("prices.eu", priced("p3"))
            _, message = sub.next(timeout=5) or ("", {})
            assert_converted(message, "p1")
            with pytest.raises(hms_ffi.InvalidArgument) as e:
                sub.next(timeout=5)
            assert e.value.field_violations[0][0] == "lines[1].price"
            _, message = sub.next(timeout=5) or ("", {})
            assert_converted(message, "p3")


def test_durable_deliveries_convert_and_a_refused_one_does_not_stop_them(js_uri: str) -> None:
    publisher = declared(hms_ffi.Bus.connect(js_uri, schema()))
    for id, last in [("d1", "0.25"), ("d2", "13"), ("d3", "0.25")]:
        publisher.publish("prices.eu", priced(id, last))
    consumer = declared(hms_ffi.Bus.connect(js_uri, schema(), converters=[*hms_ffi.BUILTINS, PICKY]))
    with consumer.subscribe_durable("prices.>", "billing", ack_wait=1.0) as sub:
        first = sub.next(timeout=5)
        assert first is not None
        assert_converted(first.message, "d1")
        first.ack()
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            sub.next(timeout=5)
        assert e.value.field_violations[0][0] == "lines[1].price"
        third = sub.next(timeout=5)
        assert third is not None and third.sequence == 3
        assert_converted(third.message, "d3")
        third.ack()
    # A reader without converters gets the refused one again (never answered) as dicts.
    raw = declared(hms_ffi.Bus.connect(js_uri, schema(), converters=[]))
    with raw.subscribe_durable("prices.>", "billing") as sub:
        again = sub.next(timeout=10)
        assert again is not None
        assert (again.message["id"], again.message["lines"][1]["price"], again.delivered) == ("d2", {"value": "13"}, 2)
        again.ack()
