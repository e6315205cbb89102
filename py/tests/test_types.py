"""Python natives per docs/types.md: ints, floats, bytes, datetime, timedelta, enums, None."""

import datetime as dt
import enum

import pytest

import hms_ffi
from vectors import SERVICE

ECHO = f"{SERVICE}/Echo"
SCALARS = f"{SERVICE}/EchoScalars"


class Color(enum.Enum):
    COLOR_BLUE = 3


def test_datetimes_are_utc_aware(served) -> None:
    _, client = served
    naive = dt.datetime(2024, 2, 29, 12, 0, 0, 123456)
    paris = dt.datetime(2024, 2, 29, 13, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    for given in (naive, paris):
        at = client.call(ECHO, {"at": given})["at"]
        assert at == dt.datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)
        assert at.tzinfo is dt.timezone.utc
    assert client.call(ECHO, {"at": "1999-12-31T23:59:59Z"})["at"].year == 1999


def test_timedeltas_and_wrappers(served) -> None:
    _, client = served
    reply = client.call(ECHO, {"took": dt.timedelta(days=-2, microseconds=5), "wrapped_int": 7, "wrapped_str": None})
    assert reply["took"] == dt.timedelta(days=-2, microseconds=5)
    assert reply["wrapped_int"] == 7 and reply["wrapped_str"] is None


def test_integers_bytes_and_floats(served) -> None:
    _, client = served
    r = client.call(SCALARS, {"int64_v": -(2**63), "uint64_v": 2**64 - 1, "bytes_v": bytearray(b"\x00\xff"), "float_v": 0.1, "double_v": 0.1})
    assert r["int64_v"] == -(2**63) and r["uint64_v"] == 2**64 - 1
    assert r["bytes_v"] == b"\x00\xff" and isinstance(r["bytes_v"], bytes)
    assert r["double_v"] == 0.1 and r["float_v"] == pytest.approx(0.1) and r["float_v"] != 0.1
    assert client.call(SCALARS, {"bytes_v": memoryview(b"mv")})["bytes_v"] == b"mv"
    with pytest.raises(hms_ffi.InvalidArgument, match="int32_v"):
        client.call(SCALARS, {"int32_v": 2**31})
    with pytest.raises(hms_ffi.InvalidArgument, match="int64_v"):
        client.call(SCALARS, {"int64_v": 10**30})
    with pytest.raises(hms_ffi.InvalidArgument, match="bool_v"):
        client.call(SCALARS, {"bool_v": 1})


def test_enums_maps_oneofs_and_none(served) -> None:
    _, client = served
    r = client.call(ECHO, {"color": Color.COLOR_BLUE, "colors": ["COLOR_RED", 2, 99], "by_id": {7: {"name": "seven"}}, "counts": {"a": 1}, "number": 5, "nested": None})
    assert r["color"] == "COLOR_BLUE" and r["colors"] == ["COLOR_RED", "COLOR_GREEN", 99]
    assert r["by_id"] == {7: {"name": "seven", "price": 0.0, "qty": 0}}
    assert r["counts"] == {"a": 1}
    assert (r["number"], r["text"], r["item"], r["nested"]) == (5, None, None, None)
    assert r["scalars"] is None and r["items"] == [] and r["maybe"] is None
    assert (tuple_reply := client.call(ECHO, {"tags": ("a", "b")}))["tags"] == ["a", "b"], tuple_reply


def test_struct_and_value(served) -> None:
    _, client = served
    meta = {"a": [1, "x", None, True, {"b": 2.5}]}
    r = client.call(ECHO, {"meta": meta, "any_value": [1, 2]})
    assert r["meta"] == {"a": [1.0, "x", None, True, {"b": 2.5}]}
    assert r["any_value"] == [1.0, 2.0]


def test_nanoseconds_survive_a_round_trip(served) -> None:
    _, client = served
    base = dt.datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)
    ts = hms_ffi.Timestamp._from_datetime(base, 789)
    took = hms_ffi.Duration._from_timedelta(dt.timedelta(seconds=-1, microseconds=5), 7)
    r = client.call(ECHO, {"at": ts, "took": took})
    assert isinstance(r["at"], hms_ffi.Timestamp) and r["at"] == base and r["at"].nanosecond == 789
    assert r["at"].isoformat() == "2024-02-29T12:00:00.123456789+00:00"
    assert isinstance(r["took"], hms_ffi.Duration) and r["took"].nanoseconds == 7
    # Without sub-microsecond parts replies are plain datetime/timedelta.
    plain = client.call(ECHO, {"at": base, "took": dt.timedelta(seconds=2)})
    assert type(plain["at"]) is dt.datetime and type(plain["took"]) is dt.timedelta
