"""Custom domain types (docs/converters.md): the built-in converters (Decimal, Money, date,
UUID) and a user's own, on requests and replies, caller and handler side, over inproc and unix;
a converter that raises is InvalidArgument with the value's path."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import pathlib
import uuid
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import hms_ffi

SCHEMA = hms_ffi.Schema.load(str(pathlib.Path(__file__).parents[2] / "tests/converters/shop.proto"))

_counter = itertools.count()
ID = uuid.UUID("6f1c1a52-3f0e-4d8e-9a43-1f2b6c7d8e9f")
REF = uuid.UUID("00000000-0000-4000-8000-000000000001")


@dataclasses.dataclass(frozen=True)
class Point:
    lat: float
    lng: float


POINT = hms_ffi.Converter(
    message="shop.v1.Point",
    to_message=lambda p: {"lat": p.lat, "lng": p.lng},
    from_message=lambda d: Point(d["lat"], d["lng"]),
)


def order() -> Dict[str, Any]:
    return {
        "id": ID,
        "items": [{"sku": "a", "price": Decimal("1.50")}, {"sku": "b", "price": Decimal("-0.000000001")}],
        "total": hms_ffi.Money(Decimal("12.345"), "EUR"),
        "due": datetime.date(2026, 12, 24),
        "rates": {"eur": Decimal("1"), "usd": Decimal("1.0873E+2")},
        "refs": [REF, ID],
        "shipped": None,
    }


def handlers(server: hms_ffi.Server, seen: List[Dict[str, Any]]) -> None:
    @server.method("shop.v1.Shop/Echo")
    def echo(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        seen.append(req)
        return req

    @server.method("shop.v1.Shop/Total")
    def total(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        amount = sum((i["price"] for i in req["items"]), Decimal(0))
        return {**req, "total": hms_ffi.Money(amount, "EUR"), "due": req["due"] + datetime.timedelta(days=1)}

    @server.method("shop.v1.Shop/Locate")
    def locate(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        seen.append(req)
        return {"name": req["name"].upper(), "at": Point(req["at"].lat + 1, req["at"].lng), "path": req["path"][::-1]}

    @server.method("shop.v1.Shop/Chat")
    def chat(requests: Iterator[Dict[str, Any]], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        for req in requests:
            assert isinstance(req["items"][0]["price"], Decimal)
            yield {**req, "due": req["due"] + datetime.timedelta(days=1)}

    @server.method("shop.v1.Shop/Bad")
    def bad(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"items": [{"price": Decimal("1")}, {"price": float("nan")}]}


@pytest.fixture(params=["inproc", "unix"])
def uri(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "inproc":
        return f"inproc://py-conv-{next(_counter)}"
    return f"unix://{tmp_path}/conv.sock"


@pytest.fixture
def shop(uri: str) -> Iterator[Tuple[hms_ffi.Server, List[Dict[str, Any]]]]:
    seen: List[Dict[str, Any]] = []
    server = hms_ffi.Server(SCHEMA, converters=[*hms_ffi.BUILTINS, POINT])
    handlers(server, seen)
    server.listen(uri)
    yield server, seen
    server.shutdown(grace=1.0)


def test_builtins_round_trip_both_ways(uri: str, shop: Any) -> None:
    client = hms_ffi.connect(uri)
    try:
        reply = client.call("shop.v1.Shop/Echo", order(), timeout=10)
        assert reply == order()
        req = shop[1][0]
        assert req == order()
        assert isinstance(req["items"][0]["price"], Decimal) and isinstance(req["id"], uuid.UUID)
        assert isinstance(reply["total"], hms_ffi.Money) and type(reply["due"]) is datetime.date
        total = client.call("shop.v1.Shop/Total", order(), timeout=10)
        assert total["total"] == hms_ffi.Money(Decimal("1.499999999"), "EUR")
        assert total["due"] == datetime.date(2026, 12, 25)
    finally:
        client.close()


def test_streams_convert_both_ways(uri: str, shop: Any) -> None:
    client = hms_ffi.connect(uri)
    try:
        replies = list(client.stream("shop.v1.Shop/Chat", [order(), order()], timeout=10))
        assert replies == [{**order(), "due": datetime.date(2026, 12, 25)}] * 2
    finally:
        client.close()


def test_the_general_path_converts_alike(uri: str, shop: Any) -> None:
    # A bytearray has no view of its own: the message goes through the core's general path.
    client = hms_ffi.connect(uri)
    try:
        req = {**order(), "refs": (REF, ID)}
        req["items"][0]["sku"] = bytearray(b"a")
        assert client.call("shop.v1.Shop/Echo", req, timeout=10) == order()
    finally:
        client.close()


def test_without_converters_the_messages_are_dicts(uri: str, shop: Any) -> None:
    client = hms_ffi.connect(uri, converters=[])
    try:
        sent = {"id": str(ID), "items": [{"sku": "a", "price": {"value": "1.50"}}], "due": {"year": 2026, "month": 1, "day": 2}}
        reply = client.call("shop.v1.Shop/Echo", sent, timeout=10)
        assert reply["id"] == str(ID)
        assert reply["items"][0]["price"] == {"value": "1.50"}
        assert reply["due"] == {"year": 2026, "month": 1, "day": 2}
        assert reply["total"] is None and reply["refs"] == []
        # The server, which has the built-ins, saw native values.
        assert shop[1][0]["items"][0]["price"] == Decimal("1.50")
        assert shop[1][0]["due"] == datetime.date(2026, 1, 2)
    finally:
        client.close()


def test_a_user_converter_on_both_sides(uri: str, shop: Any) -> None:
    client = hms_ffi.connect(uri, converters=[POINT])
    try:
        place = {"name": "home", "at": Point(1.5, 2.0), "path": [Point(0, 0), Point(1, 1)]}
        reply = client.call("shop.v1.Shop/Locate", place, timeout=10)
        assert reply == {"name": "HOME", "at": Point(2.5, 2.0), "path": [Point(1, 1), Point(0, 0)]}
        assert shop[1][0]["at"] == Point(1.5, 2.0)
    finally:
        client.close()


def test_a_converter_that_raises_is_invalid_argument_with_the_path(uri: str, shop: Any) -> None:
    client = hms_ffi.connect(uri)
    try:
        bad = order()
        bad["items"].append({"sku": "c", "price": 1.25})  # a float is no Decimal
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            client.call("shop.v1.Shop/Echo", bad, timeout=10)
        field, why = e.value.field_violations[0]
        assert field == "items[2].price"
        assert why.startswith("converter for google.type.Decimal failed: TypeError: expected decimal.Decimal")
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            client.call("shop.v1.Shop/Echo", {**order(), "refs": [REF, "not-a-uuid"]}, timeout=10)
        assert e.value.field_violations[0][0] == "refs[1]"
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            client.call("shop.v1.Shop/Echo", {**order(), "total": hms_ffi.Money(Decimal("0.0000000001"), "EUR")})
        assert e.value.field_violations[0][0] == "total"
        assert "more than nine decimal places" in e.value.field_violations[0][1]
        # A handler's reply that its converter refuses is the handler's fault.
        with pytest.raises(hms_ffi.Internal) as e:
            client.call("shop.v1.Shop/Bad", {}, timeout=10)
        assert e.value.field_violations[0][0] == "items[1].price"
    finally:
        client.close()


def test_a_value_the_native_type_refuses_is_invalid_argument_with_the_path(uri: str, shop: Any) -> None:
    # A request the server's converters refuse, sent by a client without converters.
    raw = hms_ffi.connect(uri, converters=[])
    try:
        sent = {"items": [{"price": {"value": "1"}}, {"price": {"value": "one"}}]}
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            raw.call("shop.v1.Shop/Echo", sent, timeout=10)
        assert e.value.field_violations[0][0] == "items[1].price"
        assert "converter for google.type.Decimal failed: InvalidOperation" in e.value.field_violations[0][1]
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            raw.call("shop.v1.Shop/Echo", {"due": {"year": 2026, "month": 2, "day": 30}}, timeout=10)
        assert e.value.field_violations[0][0] == "due"
        assert "converter for google.type.Date failed: ValueError" in e.value.field_violations[0][1]
    finally:
        raw.close()
    # A reply the client's converters refuse, sent by a server without converters.
    plain = hms_ffi.Server(SCHEMA, converters=[])
    plain.method("shop.v1.Shop/Echo")(lambda req, ctx: {"rates": {"x": {"value": "1,5"}}})
    other = plain.listen(f"inproc://py-conv-plain-{next(_counter)}")
    client = hms_ffi.connect(other)
    try:
        with pytest.raises(hms_ffi.InvalidArgument) as e:
            client.call("shop.v1.Shop/Echo", order(), timeout=10)
        assert e.value.field_violations[0][0] == 'rates["x"]'
    finally:
        client.close()
        plain.shutdown(grace=1.0)


def test_an_unset_uuid_is_none_and_an_unset_message_is_none(uri: str, shop: Any) -> None:
    client = hms_ffi.connect(uri)
    try:
        reply = client.call("shop.v1.Shop/Echo", {}, timeout=10)
        assert reply["id"] is None and reply["total"] is None and reply["refs"] == [] and reply["rates"] == {}
        assert client.call("shop.v1.Shop/Echo", {"id": str(ID)}, timeout=10)["id"] == ID
    finally:
        client.close()
