"""The shared conformance vectors (tests/conformance) in Python: notation, comparison, servers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import pathlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import hms_ffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tests" / "conformance"
PROTO = CONFORMANCE / "conformance.proto"
SERVICE = "hms.conformance.v1.Conformance"

_TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$")
_DUR = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")


def parse_timestamp(text: str) -> dt.datetime:
    m = _TS.match(text)
    assert m, text
    y, mo, d, h, mi, s, frac, zone = m.groups()
    nanos = int((frac or "0").ljust(9, "0"))
    micros = nanos // 1000
    tz = dt.timezone.utc
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micros, tzinfo=tz)
    return hms_ffi.Timestamp._from_datetime(value, nanos % 1000) if nanos % 1000 else value


def parse_duration(text: str) -> dt.timedelta:
    m = _DUR.match(text)
    assert m, text
    neg, whole, frac = m.groups()
    nanos = int(whole) * 1_000_000_000 + int((frac or "0").ljust(9, "0"))
    nanos = -nanos if neg else nanos
    value = dt.timedelta(microseconds=nanos // 1000)
    return hms_ffi.Duration._from_timedelta(value, nanos % 1000) if nanos % 1000 else value


def notation(j: Any) -> Any:
    """Value notation (tests/conformance/README.md) → Python natives."""
    if isinstance(j, dict):
        if len(j) == 1:
            (key, v), = j.items()
            if key.startswith("$"):
                return _tagged(key[1:], v)
        return {k: notation(v) for k, v in j.items()}
    if isinstance(j, list):
        return [notation(x) for x in j]
    return j


def _tagged(tag: str, v: Any) -> Any:
    if tag == "int":
        return int(v)
    if tag == "float":
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, None) or float(v)
    if tag == "bytes":
        return base64.b64decode(v)
    if tag == "bytes_fill":
        return bytes([v["byte"]]) * v["len"]
    if tag == "string_fill":
        return v["text"] * v["count"]
    if tag == "timestamp":
        return parse_timestamp(v)
    if tag == "duration":
        return parse_duration(v)
    if tag == "nest_list":
        nested: list = []
        for _ in range(v):
            nested = [nested]
        return nested
    raise AssertionError(f"unknown notation tag ${tag}")


def same(actual: Any, expected: Any, path: str = "") -> Optional[str]:
    """None when equal, else where they differ. Map keys compare as text (int map keys)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or len(actual) != len(expected):
            return f"at {path or '.'}: got {actual!r}, expected {expected!r}"
        by_text = {str(k): v for k, v in actual.items()}
        for k, v in expected.items():
            if str(k) not in by_text:
                return f"at {path}: missing key {k!r}"
            why = same(by_text[str(k)], v, f"{path}.{k}")
            if why:
                return why
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"at {path}: got {actual!r}, expected {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            why = same(a, e, f"{path}[{i}]")
            if why:
                return why
        return None
    if isinstance(expected, float) and math.isnan(expected):
        return None if isinstance(actual, float) and math.isnan(actual) else f"at {path}: got {actual!r}, expected nan"
    if isinstance(expected, (dt.datetime, dt.timedelta)):
        attr = "nanosecond" if isinstance(expected, dt.datetime) else "nanoseconds"
        if actual != expected or getattr(actual, attr, 0) != getattr(expected, attr, 0):
            return f"at {path}: got {actual!r}, expected {expected!r}"
        return None
    if type(actual) is bool or type(expected) is bool:
        return None if actual is expected else f"at {path}: got {actual!r}, expected {expected!r}"
    if isinstance(expected, float) and not isinstance(actual, float):
        return f"at {path}: got {actual!r} ({type(actual).__name__}), expected float {expected!r}"
    return None if actual == expected else f"at {path}: got {actual!r}, expected {expected!r}"


@dataclass
class Case:
    file: str
    name: str
    method: str
    request: Any
    timeout: float
    expect: Dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file[:-5]}/{self.name}"


def load_cases() -> List[Case]:
    out = []
    for f in sorted((CONFORMANCE / "vectors").glob("*.json")):
        for c in json.loads(f.read_text())["cases"]:
            out.append(Case(f.name, c["name"], c["method"], notation(c["request"]), c.get("timeout_ms", 30_000) / 1000, c["expect"]))
    return out


def check(case: Case, client: hms_ffi.Client) -> None:
    """Runs one case as a client; raises AssertionError with the reason on a mismatch."""
    try:
        reply = client.call(case.method, case.request, timeout=case.timeout)
    except hms_ffi.Error as e:
        assert "error" in case.expect, f"expected a reply, got {e!r} {e}"
        check_error(e, case.expect["error"])
        return
    assert "reply" in case.expect, f"expected {case.expect['error']['code']}, got reply {reply!r}"
    why = same(reply, notation(case.expect["reply"]))
    assert why is None, why


def check_error(e: hms_ffi.Error, exp: Dict[str, Any]) -> None:
    """An error against a vector's ``error`` expectation: its code (and exception class), and
    ``message_contains`` and ``violations`` (as a set) when given."""
    code = hms_ffi.Code[exp["code"]]
    assert e.code == code, f"expected {code.name}, got {e!r} {e}"
    assert isinstance(e, hms_ffi.ERROR_CLASSES[code]), type(e)
    if "message_contains" in exp:
        assert exp["message_contains"] in e.message, e.message
    if "violations" in exp:
        assert sorted({f for f, _ in e.field_violations}) == sorted(set(exp["violations"])), e.field_violations


def conformance_server(**options: Any) -> hms_ffi.Server:
    """The conformance service in Python, as every binding serves it."""
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO), **options)

    @server.method(f"{SERVICE}/Echo")
    def echo(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return req

    @server.method(f"{SERVICE}/EchoScalars")
    def echo_scalars(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return req

    @server.method(f"{SERVICE}/Fail")
    def fail(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        raise failure(req)

    @server.method(f"{SERVICE}/Sleep")
    def sleep(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        end = time.monotonic() + req["millis"] / 1000
        while time.monotonic() < end:
            if ctx.cancelled:
                raise hms_ffi.Cancelled("sleep cancelled")
            time.sleep(min(0.01, max(0.0, end - time.monotonic())))
        return {}

    serve_semantics(server)
    from stream_vectors import serve_streams  # noqa: PLC0415 - it imports this module

    serve_streams(server)
    return server


# --- Call semantics (tests/conformance/README.md, "Call semantics") -----------------------------

SEMANTICS = "hms.conformance.v1.Semantics"
SKIPS = json.loads((CONFORMANCE / "semantics" / "skips.json").read_text())


def failure(req: Dict[str, Any]) -> hms_ffi.Error:
    """The error `Conformance/Fail` raises for a FailRequest (code OK included: the core refuses it)."""
    code = hms_ffi.Code[req["code"]] if req["code"] in hms_ffi.Code.__members__ else hms_ffi.Code.UNKNOWN
    violations = [(p, "rejected by the handler") for p in req.get("violation_paths") or []]
    details: Dict[str, Any] = {}
    if req.get("reason"):
        details["error_info"] = {"reason": req["reason"], "domain": "conformance.example", "metadata": {"case": req["reason"]}}
    return hms_ffi.ERROR_CLASSES[code](req["message"], details, code=code, field_violations=violations)


def serve_semantics(server: hms_ffi.Server) -> None:
    """`Semantics/Context` and `Semantics/Relay` as the README specifies them, and the revision
    `conformance-rev` (`tests/conformance/revision.proto`), whose Echo fails with ABORTED."""

    server.add_revision("conformance-rev", hms_ffi.Schema.load(CONFORMANCE / "revision.proto"))

    @server.method(f"{SERVICE}/Echo", revision="conformance-rev")
    def revision_echo(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        raise hms_ffi.Aborted(f"revision {req['unicode_text']}")

    @server.method(f"{SEMANTICS}/Context")
    def context(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        for k, v in req["set_headers"].items():
            ctx.set_header(k, v)
        for k, v in req["set_trailers"].items():
            ctx.set_trailer(k, v)
        if req["fail_code"]:
            raise failure({"code": req["fail_code"], "message": req["fail_message"]})
        if req["nest_reply"] > 0:
            return {"nested": _tagged("nest_list", req["nest_reply"])}
        return {
            "method": ctx.method,
            "metadata": {k: v for k, v in ctx.metadata.items() if k.startswith("x-conf-")},
            "has_deadline": ctx.deadline is not None,
            "has_trace_id": bool(ctx.trace_id),
        }

    @server.method(f"{SEMANTICS}/Relay")
    def relay(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        with hms_ffi.connect(req["target"]) as upstream:
            upstream.call(f"{SERVICE}/Fail", req["fail"], timeout=10)
        raise AssertionError("Fail answered with a reply")


@dataclass
class SemanticCase:
    name: str
    raw: Dict[str, Any]

    @property
    def id(self) -> str:
        return f"semantics/{self.name}"


def load_semantic_cases() -> List[SemanticCase]:
    out = []
    for f in sorted((CONFORMANCE / "semantics").glob("*.json")):
        if f.name == "skips.json":
            continue
        out.extend(SemanticCase(c["name"], c) for c in json.loads(f.read_text())["cases"])
    return out


def _self(j: Any, uri: str) -> Any:
    if j == "$self":
        return uri
    if isinstance(j, dict):
        return {k: _self(v, uri) for k, v in j.items()}
    return j


def _subset(actual: Dict[str, str], expected: Dict[str, str], what: str) -> None:
    for k, v in expected.items():
        assert actual.get(k) == v, f"{what}: expected {k}={v!r}, got {actual!r}"


def _call(case: SemanticCase, client: hms_ffi.Client) -> Any:
    c = case.raw
    request = notation(_self(c["request"], client.endpoint))
    timeout = c["timeout_ms"] / 1000 if "timeout_ms" in c else None  # none: no deadline
    metadata = c.get("metadata")
    if "cancel_after_ms" in c:
        done = threading.Event()
        outcome: List[Any] = []

        def settle(ok: bool, value: Any) -> None:
            outcome.append(value)
            done.set()

        handle = client._native.call_with_callback(c["method"], request, settle, timeout, metadata)
        time.sleep(c["cancel_after_ms"] / 1000)
        handle.cancel()
        assert done.wait(10), "the cancelled call did not end"
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return hms_ffi.Reply(outcome[0], {}, {})
    if c.get("client") == "closed":
        client = hms_ffi.connect(client.endpoint)
        client.close()
    return client.call_with_metadata(c["method"], request, timeout=timeout, metadata=metadata)


def check_semantic(case: SemanticCase, client: hms_ffi.Client) -> None:
    """Runs one call-semantics case as a client; raises AssertionError with the reason."""
    expect = case.raw["expect"]
    try:
        reply = _call(case, client)
    except hms_ffi.Error as e:
        assert "error" in expect, f"expected a reply, got {e!r} {e}"
        exp = expect["error"]
        check_error(e, exp)
        if "reason" in exp:
            assert e.reason == exp["reason"], f"reason {e.reason!r}"
        for k, v in (exp.get("origin") or {}).items():
            assert (e.origin or {}).get(k) == v, f"origin {e.origin!r}"
        _subset(e.trailers, expect.get("trailers", {}), "trailers")
        # A gRPC failure before any message is trailers-only: its headers come as trailers.
        _subset({**e.trailers, **e.headers}, expect.get("headers", {}), "headers")
        return
    assert "reply" in expect, f"expected {expect['error']['code']}, got reply {reply.message!r}"
    why = same(reply.message, notation(expect["reply"]))
    assert why is None, why
    _subset(reply.headers, expect.get("headers", {}), "headers")
    _subset(reply.trailers, expect.get("trailers", {}), "trailers")
