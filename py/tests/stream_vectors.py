"""The streaming conformance vectors (tests/conformance/streams) in Python: the server's
streaming methods as the README specifies them, and a client that runs each case."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List

import hms_ffi
from vectors import CONFORMANCE, SERVICE, check_error, notation, same


def _aborted(sent: int) -> hms_ffi.Error:
    return hms_ffi.Aborted(f"failed after {sent} replies")


def _pause(ctx: hms_ffi.Context, millis: int) -> None:
    end = time.monotonic() + millis / 1000
    while time.monotonic() < end:
        if ctx.cancelled:
            raise hms_ffi.Cancelled("cancelled while streaming")
        time.sleep(min(0.005, max(0.0, end - time.monotonic())))


def serve_streams(server: hms_ffi.Server) -> None:
    """`ServerStream`, `ClientStream` and `Bidi` (README, "Streaming")."""

    @server.method(f"{SERVICE}/ServerStream")
    def server_stream(req: Dict[str, Any], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        counts = req["counts"]
        for i in range(counts.get("repeat", 3)):
            if "fail_after" in counts and i == counts["fail_after"]:
                raise _aborted(i)
            _pause(ctx, counts.get("sleep_ms", 0))
            yield {**req, "weight_mg": i}

    @server.method(f"{SERVICE}/ClientStream")
    def client_stream(requests: Iterator[Dict[str, Any]], ctx: hms_ffi.Context) -> Dict[str, Any]:
        last: Dict[str, Any] = {}
        n = 0
        for request in requests:
            last, n = request, n + 1
        return {**last, "weight_mg": n}

    @server.method(f"{SERVICE}/Bidi")
    def bidi(requests: Iterator[Dict[str, Any]], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        for i, request in enumerate(requests):
            if "fail" in request["counts"]:
                raise _aborted(i)
            yield {**request, "weight_mg": i}


@dataclass
class StreamCase:
    name: str
    raw: Dict[str, Any]

    @property
    def id(self) -> str:
        return f"streams/{self.name}"


def load_stream_cases() -> List[StreamCase]:
    doc = json.loads((CONFORMANCE / "streams" / "streams.json").read_text())
    return [StreamCase(c["name"], c) for c in doc["cases"]]


def check_stream(case: StreamCase, client: hms_ffi.Client) -> None:
    """Runs one streaming case as a client; raises AssertionError with the reason."""
    c, expect = case.raw, case.raw["expect"]
    requests = [notation(r) for r in c["requests"]]
    timeout = c["timeout_ms"] / 1000 if "timeout_ms" in c else 30.0
    kind = c["method"].rsplit("/", 1)[1]
    sent: Any = requests[0] if kind == "ServerStream" else requests
    replies: List[Any] = []
    error = None
    started = time.monotonic()
    with client.stream(c["method"], sent, timeout=timeout) as stream:
        try:
            for reply in stream:
                replies.append(reply)
                if len(replies) == c.get("cancel_after_replies"):
                    stream.cancel()
        except hms_ffi.Error as e:
            error = e
    if "error" in expect:
        exp = expect["error"]
        assert error is not None, f"expected {exp['code']}, the stream ended with {len(replies)} replies"
        check_error(error, exp)
    else:
        assert error is None, f"expected the stream to end, got {error!r} {error}"
    if "cancel_after_replies" in c:
        assert time.monotonic() - started < 5, "a cancelled stream did not end promptly"
    if "count" in expect:
        assert len(replies) == expect["count"], f"{len(replies)} replies, expected {expect['count']}"
    if "replies" in expect:
        wanted = [notation(r) for r in expect["replies"]]
        assert len(replies) == len(wanted), f"{len(replies)} replies, expected {len(wanted)}"
        for i, (got, want) in enumerate(zip(replies, wanted)):
            why = same(got, want, f"[{i}]")
            assert why is None, why
