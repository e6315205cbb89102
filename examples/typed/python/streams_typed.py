"""The three stream kinds and the oneof of hms.conformance.v1.Conformance, typed by
`hms-ffi gen --lang python`: a generated client calls a generated servicer over inproc, with
its blocking methods (iterators in, iterators out) and its asyncio ones (async iterators), and
each case of the oneof ``choice`` (one member set, or none) round-trips through the unary Echo,
read with ``which_all_types_choice`` (a ``Literal`` of the members' names).

    python streams_typed.py                          # prints a line per check; exits non-zero when one fails
    python streams_typed.py serve unix:///tmp/s.sock  # the typed servicer alone, until SIGTERM
                                                      # (examples/typed/php/streams_typed.php calls it)

`make test-gen` (scripts/check-typed.sh) checks it with `mypy --strict` and pyright (strict),
checks that a misspelt member name fails mypy, and runs it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import AsyncIterator, Iterator, List, Mapping, Optional, Tuple

import hms_ffi
from hms_conformance_v1_hms import (
    AllTypes,
    AllTypesArgs,
    Color,
    ConformanceClient,
    ConformanceServicer,
    Item,
    ItemArgs,
    register_conformance,
    which_all_types_choice,
)


def choice(m: AllTypes) -> str:
    """Which member of the oneof ``choice`` is set, and its value."""
    which = which_all_types_choice(m)
    if which == "text":
        return f"text {m['text']}"
    if which == "number":
        return f"number {m['number']}"
    if which == "item":
        item = m["item"]
        return f"item {item['name'] if item is not None else '?'}"
    return "none"


class Streams(ConformanceServicer):
    """The typed servicer: the oneof echoed, and the three streaming methods."""

    def echo(self, request: AllTypes, ctx: hms_ffi.Context) -> AllTypesArgs:
        """The request's oneof (and tags) as they came."""
        item = request["item"]
        reply: AllTypesArgs = {"text": request["text"], "number": request["number"], "tags": request["tags"]}
        if item is not None:
            reply["item"] = {"name": item["name"], "price": item["price"], "qty": item["qty"]}
        return reply

    def server_stream(self, request: AllTypes, ctx: hms_ffi.Context) -> Iterator[AllTypesArgs]:
        """One reply per tag of the request, numbered: the oneof's ``number`` set."""
        for i, tag in enumerate(request["tags"]):
            yield {"tags": [tag], "number": i, "color": Color.COLOR_GREEN}

    def client_stream(self, requests: Iterator[AllTypes], ctx: hms_ffi.Context) -> AllTypesArgs:
        """Every request's items in one reply, with the quantity of each by name."""
        items: List[Item] = [item for r in requests for item in r["items"]]
        sent: List[ItemArgs] = [{"name": i["name"], "price": i["price"], "qty": i["qty"]} for i in items]
        return {"items": sent, "counts": {i["name"]: i["qty"] for i in items}}

    def bidi(self, requests: Iterator[AllTypes], ctx: hms_ffi.Context) -> Iterator[AllTypesArgs]:
        """A reply to each request as it comes: its text upper-cased, its numbers summed."""
        for r in requests:
            text = r["text"]
            yield {"text": text.upper() if text is not None else None, "wrapped_int": sum(r["numbers"])}


def ok(what: str, got: object, want: object) -> None:
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"{what}: ok", flush=True)


ORDERS: List[AllTypesArgs] = [
    {"items": [{"name": "tea", "price": 2.5, "qty": 2}]},
    {"items": [{"name": "cake", "price": 4.0, "qty": 1}]},
]
SAID: List[AllTypesArgs] = [{"text": "hi", "numbers": [1, 2]}, {"number": 3, "numbers": [40, 2]}]
ANSWERS: List[Tuple[str, Optional[int]]] = [("text HI", 3), ("none", 42)]
NUMBERED = [(["a"], "number 0"), (["b"], "number 1"), (["c"], "number 2")]


def total(reply: AllTypes) -> Tuple[List[str], Mapping[str, int]]:
    return [i["name"] for i in reply["items"]], reply["counts"]


def blocking(client: ConformanceClient) -> None:
    cases: List[Tuple[AllTypesArgs, str]] = [
        ({"text": "hi"}, "text hi"),
        ({"number": 7}, "number 7"),
        ({"item": {"name": "tea"}}, "item tea"),
        ({}, "none"),
    ]
    for request, want in cases:
        ok(f"oneof, {want.split()[0]}", choice(client.echo(request)), want)
    try:
        client.echo(text="hi", number=7)
        raise SystemExit("oneof, two members set: accepted")
    except hms_ffi.InvalidArgument:
        print("oneof, two members set: INVALID_ARGUMENT (the core's rule): ok", flush=True)

    ok("server streaming", [(r["tags"], choice(r)) for r in client.server_stream(tags=["a", "b", "c"])], NUMBERED)
    ok("client streaming", total(client.client_stream(ORDERS)), (["tea", "cake"], {"tea": 2, "cake": 1}))
    ok("bidi streaming", [(choice(r), r["wrapped_int"]) for r in client.bidi(SAID)], ANSWERS)


async def asynchronous(client: ConformanceClient) -> None:
    async def orders() -> AsyncIterator[AllTypesArgs]:
        for o in ORDERS:
            yield o

    ok("server streaming, async", [(r["tags"], choice(r)) async for r in client.server_stream_async(tags=["a", "b", "c"])], NUMBERED)
    ok("client streaming, async", total(await client.client_stream_async(orders())), (["tea", "cake"], {"tea": 2, "cake": 1}))
    ok("bidi streaming, async", [(choice(r), r["wrapped_int"]) async for r in client.bidi_async(SAID)], ANSWERS)


def main(argv: List[str]) -> None:
    server = hms_ffi.Server(hms_ffi.Schema.load("tests/conformance/conformance.proto"))
    register_conformance(server, Streams())
    if argv[:1] == ["serve"] and len(argv) == 2:
        print(server.listen(argv[1]), flush=True)
        server.serve()
        return
    server.listen("inproc://typed-streams-py")
    try:
        client = ConformanceClient(hms_ffi.connect("inproc://typed-streams-py"), timeout=10.0)
        blocking(client)
        asyncio.run(asynchronous(client))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
