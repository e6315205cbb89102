"""Batched calls from Python (issue 22): ``client.batch([(method, request), ...])`` and
``await client.batch_async(...)`` return one entry per call, in order, a reply or the call's
typed error; the rules (one deadline, partial failure, cancellation, the size limit) are the
core's, and these tests check that Python gets them."""

import asyncio
import pathlib
import threading
import time
from typing import Any, Dict, Iterator, Tuple

import pytest

import hms_ffi

PROTO = """
syntax = "proto3";
package batch.v1;
message Req { string id = 1; int64 millis = 2; bool fail = 3; }
message Rep { string id = 1; string thread = 2; }
service Jobs {
  rpc Run(Req) returns (Rep);
}
"""
RUN = "batch.v1.Jobs/Run"


def jobs_server() -> hms_ffi.Server:
    server = hms_ffi.Server(hms_ffi.Schema.from_source("batch.proto", PROTO))

    @server.method(RUN)
    def run(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        if req.get("fail"):
            raise hms_ffi.NotFound(f"no job {req['id']}")
        end = time.monotonic() + req.get("millis", 0) / 1000
        while time.monotonic() < end and not ctx.cancelled:  # a slow job that stops when cancelled
            time.sleep(0.005)
        return {"id": req["id"], "thread": threading.current_thread().name}

    return server


@pytest.fixture(params=["inproc", "unix"])
def served(request: Any, tmp_path: pathlib.Path) -> Iterator[Tuple[hms_ffi.Server, hms_ffi.Client]]:
    server = jobs_server()
    uri = f"inproc://batch-{id(server)}" if request.param == "inproc" else f"unix://{tmp_path}/b.sock"
    server.listen(uri)
    client = hms_ffi.connect(uri)
    yield server, client
    client.close()
    server.shutdown()


def test_each_call_gets_its_own_entry_in_order(served: Tuple[hms_ffi.Server, hms_ffi.Client]) -> None:
    _, client = served
    calls = [(RUN, {"id": str(i)}) for i in range(300)]
    calls[5] = (RUN, {"id": "5", "fail": True})
    calls[6] = ("batch.v1.Jobs/Nope", {"id": "6"})
    calls[7] = (RUN, {"id": 7})  # not a string: refused before it is sent
    results = client.batch(calls, timeout=20)
    assert len(results) == 300
    for i, r in enumerate(results):
        if i == 5:
            assert isinstance(r, hms_ffi.NotFound) and "no job 5" in str(r)
        elif i == 6:
            assert isinstance(r, hms_ffi.Unimplemented)
        elif i == 7:
            assert isinstance(r, hms_ffi.InvalidArgument)
            assert r.field_violations and r.field_violations[0][0] == "id"
        else:
            assert r["id"] == str(i)


def test_one_deadline_bounds_the_batch(served: Tuple[hms_ffi.Server, hms_ffi.Client]) -> None:
    _, client = served
    start = time.monotonic()
    results = client.batch([(RUN, {"id": "quick"}), (RUN, {"id": "slow", "millis": 5000})], timeout=0.3)
    assert time.monotonic() - start < 3
    assert results[0]["id"] == "quick"
    assert isinstance(results[1], hms_ffi.DeadlineExceeded)


def test_the_server_runs_the_calls_concurrently(served: Tuple[hms_ffi.Server, hms_ffi.Client]) -> None:
    _, client = served
    # Eight calls of 300 ms: about 2.4 s one after another.
    start = time.monotonic()
    results = client.batch([(RUN, {"id": str(i), "millis": 300}) for i in range(8)], timeout=10)
    assert all(isinstance(r, dict) for r in results), results
    assert time.monotonic() - start < 2.0
    assert len({r["thread"] for r in results}) > 1


def test_batch_async_and_its_cancellation(served: Tuple[hms_ffi.Server, hms_ffi.Client]) -> None:
    _, client = served

    async def main() -> None:
        results = await client.batch_async([(RUN, {"id": "a"}), (RUN, {"id": "b", "fail": True}), (RUN, None)], timeout=10)
        assert results[0] == {"id": "a", "thread": results[0]["thread"]}
        assert isinstance(results[1], hms_ffi.NotFound)
        assert results[2]["id"] == ""
        task = asyncio.ensure_future(client.batch_async([(RUN, {"id": "long", "millis": 10_000})], timeout=20))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)

    asyncio.run(asyncio.wait_for(main(), 30))
    # The cancelled call ended on the server too: the next batch is answered at once.
    start = time.monotonic()
    assert client.batch([(RUN, {"id": "after"})], timeout=5)[0]["id"] == "after"
    assert time.monotonic() - start < 2


def test_an_oversized_batch_raises_before_anything_is_sent(served: Tuple[hms_ffi.Server, hms_ffi.Client]) -> None:
    _, client = served
    with pytest.raises(hms_ffi.InvalidArgument, match="at most 100000"):
        client.batch([(RUN, {"id": "x"})] * 100_001)
    assert client.batch([]) == []


def test_a_request_that_is_not_a_mapping_is_that_calls_error(served: Tuple[hms_ffi.Server, hms_ffi.Client]) -> None:
    _, client = served
    results = client.batch([(RUN, {"id": "ok"}), (RUN, ["not", "a", "dict"])], timeout=10)  # type: ignore[list-item]
    assert results[0]["id"] == "ok"
    assert isinstance(results[1], Exception)
