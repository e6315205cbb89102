"""asyncio on both sides, threads, and handlers that call servers (also their own)."""

import asyncio
import threading

import pytest

import hms_ffi
from vectors import PROTO, SERVICE, conformance_server

ECHO = f"{SERVICE}/Echo"


def test_async_handler_and_call_async(endpoint) -> None:
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO))

    @server.method(ECHO)
    async def echo(req, ctx):
        await asyncio.sleep(0.01)
        return {"unicode_text": req["unicode_text"].upper(), "tags": [ctx.method, ctx.transport]}

    server.listen(endpoint)
    client = hms_ffi.connect(endpoint)

    async def main():
        replies = await asyncio.gather(*(client.call_async(ECHO, {"unicode_text": f"m{i}"}) for i in range(20)))
        return replies

    replies = asyncio.run(main())
    assert [r["unicode_text"] for r in replies] == [f"M{i}" for i in range(20)]
    assert replies[0]["tags"] == [ECHO, endpoint.split(":")[0]]
    server.shutdown()


def test_call_async_raises_typed_errors(served) -> None:
    _, client = served

    async def main():
        await client.call_async(f"{SERVICE}/Fail", {"code": "ABORTED", "message": "conflict"})

    with pytest.raises(hms_ffi.Aborted) as err:
        asyncio.run(main())
    assert err.value.message == "conflict"


def test_async_paths_check_values_as_the_sync_paths_do(endpoint) -> None:
    """The asyncio client and an `async def` handler walk their dicts to protobuf and back as
    the synchronous paths do: the same replies, the same typed errors for the same bad
    values, an unconvertible object raised at once, and a bad reply the handler's INTERNAL."""
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO))

    @server.method(ECHO)
    async def echo(req, ctx):
        if req["unicode_text"] == "break the reply":
            return {"no_such_field": 1}
        if req["unicode_text"] == "not a dict":
            return ["a", "list"]
        return req

    server.listen(endpoint)
    client = hms_ffi.connect(endpoint)
    message = {"unicode_text": "héllo", "tags": ["a", "b"], "counts": {"x": 1}, "blob": b"\x00\xff"}

    async def call(request):
        return await client.call_async(ECHO, request, timeout=10)

    def outcome(run):
        try:
            return ("ok", run())
        except hms_ffi.Error as e:
            return (type(e).__name__, e.message)

    assert asyncio.run(call(message)) == client.call(ECHO, message, timeout=10)
    for bad in [{"unicode_text": 7}, {"nope": 1}, {"tags": "abc"}]:
        by_async = outcome(lambda: asyncio.run(call(bad)))
        assert by_async[0] == "InvalidArgument", by_async
        assert by_async == outcome(lambda: client.call(ECHO, bad, timeout=10))
    for text in ["break the reply", "not a dict"]:
        with pytest.raises(hms_ffi.Internal, match="handler returned an invalid response"):
            asyncio.run(call({"unicode_text": text}))
    with pytest.raises(hms_ffi.InvalidArgument):
        asyncio.run(call({"unicode_text": object()}))
    server.shutdown()


def test_async_handler_is_cancelled_at_the_deadline(endpoint) -> None:
    server = conformance_server()
    cancelled = threading.Event()

    @server.method(f"{SERVICE}/Sleep")
    async def slow(req, ctx):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    server.listen(endpoint)
    client = hms_ffi.connect(endpoint)
    with pytest.raises(hms_ffi.DeadlineExceeded):
        client.call(f"{SERVICE}/Sleep", {"millis": 10_000}, timeout=0.2)
    assert cancelled.wait(5), "the coroutine was not cancelled"
    server.shutdown()


def test_many_threads_share_a_client(served) -> None:
    _, client = served
    errors = []

    def worker(n):
        try:
            for i in range(50):
                assert client.call(ECHO, {"weight_mg": n * 1000 + i})["weight_mg"] == n * 1000 + i
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_handler_calls_another_server_and_its_own(endpoint) -> None:
    backend = conformance_server()
    backend.listen(f"{endpoint}-backend" if endpoint.startswith("inproc") else endpoint.replace("py.sock", "backend.sock"))
    backend_uri = backend.endpoints[0]
    front = conformance_server()
    own = {}

    @front.method(ECHO)
    def relay(req, ctx):
        if req["unicode_text"] == "self":
            # A call to its own server from inside a handler: no deadlock.
            return own["client"].call(f"{SERVICE}/EchoScalars", {"string_v": "from self"}) and {"unicode_text": "self ok"}
        reply = hms_ffi.connect(backend_uri).call(ECHO, req)
        reply["tags"] = ["relayed"]
        return reply

    front.listen(endpoint)
    own["client"] = hms_ffi.connect(endpoint)
    client = hms_ffi.connect(endpoint)
    assert client.call(ECHO, {"unicode_text": "x"})["tags"] == ["relayed"]
    assert client.call(ECHO, {"unicode_text": "self"})["unicode_text"] == "self ok"
    front.shutdown()
    backend.shutdown()


def test_context_manager_shuts_down(tmp_path) -> None:
    uri = f"unix://{tmp_path}/cm.sock"
    with conformance_server() as server:
        server.listen(uri)
        with hms_ffi.connect(uri) as client:
            assert client.call(ECHO, {})["weight_mg"] == 0
    assert server.stopped
    assert not (tmp_path / "cm.sock").exists()
