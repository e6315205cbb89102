"""Streams in Python: every streaming vector (Python client → Python server) on every transport
that streams, async handlers and clients, and the semantics the vectors cannot show — a
requests iterator that raises, a reader that stops early, trailers after the last message, a
handler that yields the wrong thing."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Dict, Iterator

import pytest

import hms_ffi
from stream_vectors import check_stream, load_stream_cases
from vectors import SERVICE, conformance_server

CASES = load_stream_cases()
PROTO = '''syntax = "proto3"; package st.v1;
message N { int64 n = 1; string s = 2; bytes blob = 3; }
service S {
  rpc Count(N) returns (stream N);
  rpc Sum(stream N) returns (N);
  rpc Echo(stream N) returns (stream N);
}'''


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    path = tmp_path_factory.mktemp("streams")
    server = conformance_server()
    uris = {
        "inproc": server.listen("inproc://py-streams"),
        "unix": server.listen(f"unix://{path}/s.sock"),
        "grpc": server.listen("grpc://127.0.0.1:0"),
        "ws": server.listen("ws://127.0.0.1:0"),
    }
    yield uris
    server.shutdown(grace=1.0)


def test_the_streaming_vectors_are_loaded() -> None:
    assert len(CASES) >= 16 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("transport", ["inproc", "unix", "grpc", "ws"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_stream_vector(case, transport, stream_server) -> None:
    check_stream(case, hms_ffi.connect(stream_server[transport]))


def _server(**handlers: Any) -> hms_ffi.Server:
    server = hms_ffi.Server(hms_ffi.Schema.from_source("st.proto", PROTO))
    for name, handler in handlers.items():
        server.add_method(f"st.v1.S/{name}", handler)
    return server


@pytest.mark.parametrize("uri", ["inproc://py-async-streams", "unix"])
def test_async_handlers_and_async_clients(uri: str, tmp_path) -> None:
    async def count(req: Dict[str, Any], ctx: hms_ffi.Context) -> AsyncIterator[Dict[str, Any]]:
        for i in range(req["n"]):
            await asyncio.sleep(0)
            yield {"n": i}

    async def total(requests: AsyncIterator[Dict[str, Any]], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"n": sum([r["n"] async for r in requests])}

    async def echo(requests: AsyncIterator[Dict[str, Any]], ctx: hms_ffi.Context) -> AsyncIterator[Dict[str, Any]]:
        async for r in requests:
            yield {"n": -r["n"], "s": r["s"]}

    server = _server(Count=count, Sum=total, Echo=echo)
    uri = server.listen(f"unix://{tmp_path}/a.sock" if uri == "unix" else uri)
    client = hms_ffi.connect(uri)

    async def feed() -> AsyncIterator[Dict[str, Any]]:
        for i in range(5):
            yield {"n": i, "s": str(i)}

    async def main() -> Any:
        counted = [r["n"] async for r in client.stream_async("st.v1.S/Count", {"n": 4}, timeout=10)]
        summed = await client.stream_async("st.v1.S/Sum", feed(), timeout=10).result()
        echoed = [(r["n"], r["s"]) async for r in client.stream_async("st.v1.S/Echo", feed(), timeout=10)]
        return counted, summed["n"], echoed

    try:
        assert asyncio.run(main()) == ([0, 1, 2, 3], 10, [(-i, str(i)) for i in range(5)])
        # The sync client against the async handlers, too.
        assert [r["n"] for r in client.stream("st.v1.S/Echo", [{"n": 7}], timeout=10)] == [-7]
    finally:
        server.shutdown()


def test_a_requests_iterator_that_raises_cancels_the_call_and_is_raised() -> None:
    seen = threading.Event()

    def total(requests: Iterator[Dict[str, Any]], ctx: hms_ffi.Context) -> Dict[str, Any]:
        n = 0
        try:
            for r in requests:
                n += r["n"]
        finally:
            if ctx.cancelled:
                seen.set()
        return {"n": n}

    def feed() -> Iterator[Dict[str, Any]]:
        yield {"n": 1}
        raise ValueError("the producer broke")

    server = _server(Sum=total)
    client = hms_ffi.connect(server.listen("inproc://py-stream-raise"))
    try:
        with pytest.raises(ValueError, match="the producer broke"):
            client.stream("st.v1.S/Sum", feed(), timeout=10).result()
        assert seen.wait(5), "the handler did not see the call cancelled"
    finally:
        server.shutdown()


def test_a_reader_that_stops_early_cancels_the_handler(tmp_path) -> None:
    stopped = threading.Event()

    def count(req: Dict[str, Any], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        i = 0
        try:
            while True:
                yield {"n": i}
                i += 1
        except hms_ffi.Cancelled:
            stopped.set()
            raise

    server = _server(Count=count)
    client = hms_ffi.connect(server.listen(f"unix://{tmp_path}/stop.sock"))
    try:
        with client.stream("st.v1.S/Count", {"n": 0}, timeout=10) as stream:
            first = [next(stream)["n"] for _ in range(3)]
        assert first == [0, 1, 2]
        assert stopped.wait(5), "the producing handler was not stopped"
    finally:
        server.shutdown()


def test_trailers_come_after_the_last_message_and_errors_are_typed() -> None:
    def count(req: Dict[str, Any], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        ctx.set_trailer("x-sent", str(req["n"]))
        for i in range(req["n"]):
            yield {"n": i}
        if req["s"] == "fail":
            raise hms_ffi.NotFound("no more")

    server = _server(Count=count)
    client = hms_ffi.connect(server.listen("inproc://py-stream-trailers"))
    try:
        stream = client.stream("st.v1.S/Count", {"n": 2}, timeout=10)
        assert [r["n"] for r in stream] == [0, 1]
        assert stream.trailers.get("x-sent") == "2"
        got = []
        with pytest.raises(hms_ffi.NotFound, match="no more"):
            for r in client.stream("st.v1.S/Count", {"n": 3, "s": "fail"}, timeout=10):
                got.append(r["n"])
        assert got == [0, 1, 2]
    finally:
        server.shutdown()


def test_a_handler_that_returns_one_reply_for_a_stream_is_internal() -> None:
    server = _server(Count=lambda req, ctx: {"n": 1})
    client = hms_ffi.connect(server.listen("inproc://py-stream-wrong"))
    try:
        with pytest.raises(hms_ffi.Internal, match="yields its replies"):
            list(client.stream("st.v1.S/Count", {"n": 1}, timeout=10))
        with pytest.raises(TypeError, match="iterable of requests"):
            client.stream("st.v1.S/Sum", {"n": 1}, timeout=10)
    finally:
        server.shutdown()


def test_send_and_close_send_by_hand_and_near_limit_messages(tmp_path) -> None:
    def echo(requests: Iterator[Dict[str, Any]], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        for r in requests:
            yield {"n": len(r["blob"])}

    server = _server(Echo=echo)
    client = hms_ffi.connect(server.listen(f"unix://{tmp_path}/big.sock"))
    try:
        stream = client.stream("st.v1.S/Echo", timeout=10)
        big = b"\x07" * 4_000_000
        for _ in range(3):
            stream.send({"blob": big})
            assert next(stream)["n"] == len(big)
        stream.close_send()
        assert list(stream) == []
        with pytest.raises(hms_ffi.FailedPrecondition):
            stream.send({"n": 1})
    finally:
        server.shutdown()


def test_a_stream_to_a_method_of_another_kind_is_refused() -> None:
    server = conformance_server()
    client = hms_ffi.connect(server.listen("inproc://py-stream-kind"))
    try:
        with pytest.raises(hms_ffi.Error):
            list(client.stream(f"{SERVICE}/Echo", {}, timeout=10))
    finally:
        server.shutdown()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_stream_opened_in_a_handler_inherits_its_deadline(tmp_path, kind: str) -> None:
    """A stream opened inside a handler (plain or `async def`) has what is left of the
    handler's deadline, as its calls do: the back handler sees the front call's deadline."""
    seen: Dict[str, Any] = {}

    def count(req: Dict[str, Any], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        seen["left"] = ctx.time_remaining
        yield {"n": 1}

    back = _server(Count=count)
    to_back = hms_ffi.connect(back.listen(f"unix://{tmp_path}/back.sock"))
    relay_proto = PROTO.replace("service S {", "service R { rpc Relay(N) returns (N); }\nservice S {")
    front = hms_ffi.Server(hms_ffi.Schema.from_source("r.proto", relay_proto))

    def relay(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"n": sum(r["n"] for r in to_back.stream("st.v1.S/Count", {"n": 1}))}

    async def relay_async(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"n": sum([r["n"] async for r in to_back.stream_async("st.v1.S/Count", {"n": 1})])}

    front.add_method("st.v1.R/Relay", relay if kind == "sync" else relay_async)
    try:
        front_client = hms_ffi.connect(front.listen(f"unix://{tmp_path}/front.sock"))
        assert front_client.call("st.v1.R/Relay", {}, timeout=5)["n"] == 1
        assert seen["left"] is not None and 0 < seen["left"] <= 5, seen
    finally:
        front.shutdown()
        back.shutdown()
