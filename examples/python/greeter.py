"""The greeter example in Python: the same service as examples/rust/greeter.rs.

    python examples/python/greeter.py serve unix:///tmp/greeter.sock   # a server (Ctrl-C stops)
    python examples/python/greeter.py call unix:///tmp/greeter.sock Ada
    python examples/python/greeter.py both                             # one process, inproc://
"""

from __future__ import annotations

import datetime as dt
import pathlib
import sys
from typing import Any, Dict, Iterator

import hms_ffi

PROTO = pathlib.Path(__file__).resolve().parents[1] / "protos" / "greeter.proto"


def make_server() -> hms_ffi.Server:
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO))

    @server.method("demo.v1.Greeter/SayHello")
    def say_hello(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        if not req["name"]:
            raise hms_ffi.InvalidArgument("name must not be empty", field_violations=[("name", "empty")])
        print(f"[python server] {ctx.method} from {ctx.peer}", flush=True)
        text = ", ".join([f"Hello {req['name']} from Python"] * max(1, req["times"]))
        return {"message": text, "at": dt.datetime.now(dt.timezone.utc)}

    @server.method("demo.v1.Greeter/Echo")
    async def echo(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return req

    @server.method("demo.v1.Greeter/Chatter")
    def chatter(req: Dict[str, Any], ctx: hms_ffi.Context) -> Iterator[Dict[str, Any]]:
        # A server-streaming handler is a generator: each yield is one reply.
        for i in range(req["times"] or 3):
            yield {"message": f"#{i} hi {req['name']} from Python", "at": dt.datetime.now(dt.timezone.utc)}

    return server


def call(uri: str, name: str) -> None:
    with hms_ffi.connect(uri) as client:
        if uri.startswith("auto://"):
            print(f"[python client] {uri} found the server at {client.transport}")
        print(f"[python client] methods: {[m.name for m in client.methods()]}")
        reply = client.call("demo.v1.Greeter/SayHello", {"name": name, "times": 2}, timeout=5)
        print(f"[python client] SayHello -> {reply['message']!r} at {reply['at'].isoformat()}")
        try:
            for item in client.stream("demo.v1.Greeter/Chatter", {"name": name, "times": 2}, timeout=5):
                print(f"[python client] Chatter -> {item['message']!r}")
        except hms_ffi.Unimplemented as e:  # a server in a language without streams yet
            print(f"[python client] Chatter: {e}")
        try:
            client.call("demo.v1.Greeter/SayHello", {"name": 42})
        except hms_ffi.InvalidArgument as e:
            print(f"[python client] a wrong type is refused: {e} {e.field_violations}")
        try:
            client.call("demo.v1.Greeter/SayHello", {"name": ""})
        except hms_ffi.Error as e:
            print(f"[python client] the handler's error comes back typed: {type(e).__name__}: {e.message} (from {e.origin})")


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "both"
    if mode == "serve":
        server = make_server()
        uri = argv[2] if len(argv) > 2 else "unix:///tmp/hms-greeter.sock"
        server.listen(uri)
        print(f"[python server] listening on {uri}; Ctrl-C stops", flush=True)
        server.serve()
        return 0
    if mode == "call":
        call(argv[2] if len(argv) > 2 else "unix:///tmp/hms-greeter.sock", argv[3] if len(argv) > 3 else "Ada")
        return 0
    if mode == "both":
        with make_server() as server:
            server.listen("inproc://py-greeter")
            call("inproc://py-greeter", "Ada")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
