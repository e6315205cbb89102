"""A typed Python client and server of demo.v1.Greeter, from `hms-ffi gen --lang python`.

    python greeter_typed.py serve unix:///tmp/g.sock   # a typed server, until SIGTERM
    python greeter_typed.py call unix:///tmp/g.sock    # a typed client of any greeter server
    python greeter_typed.py both                       # both, in one process (inproc://)

`make test-gen` runs it under `mypy --strict` and against the TypeScript and Go servers.
"""

from __future__ import annotations

import sys
from typing import Iterator

import hms_ffi
from demo_v1_hms import GreeterClient, GreeterServicer, HelloReplyArgs, HelloRequest, register_greeter


class Greeter(GreeterServicer):
    def say_hello(self, request: HelloRequest, ctx: hms_ffi.Context) -> HelloReplyArgs:
        return {"message": f"Hello {request['name']} from Python"}

    def chatter(self, request: HelloRequest, ctx: hms_ffi.Context) -> Iterator[HelloReplyArgs]:
        for i in range(request["times"]):
            yield {"message": f"#{i} hi {request['name']}"}


def serve(uri: str) -> None:
    server = hms_ffi.Server(hms_ffi.Schema.load("examples/protos/greeter.proto"))
    register_greeter(server, Greeter())
    print(server.listen(uri), flush=True)
    server.serve()


def call(uri: str) -> None:
    greeter = GreeterClient(hms_ffi.connect(uri), timeout=5.0)
    reply = greeter.say_hello(name="Ada")
    print(reply["message"])
    try:
        for r in greeter.chatter({"name": "Ada", "times": 2}):
            print(r["message"])
    except hms_ffi.Unimplemented as e:
        print(f"(Chatter: {e})")


def main(argv: list[str]) -> None:
    if argv[0] == "serve":
        serve(argv[1])
    elif argv[0] == "call":
        call(argv[1])
    else:
        server = hms_ffi.Server(hms_ffi.Schema.load("examples/protos/greeter.proto"))
        register_greeter(server, Greeter())
        server.listen("inproc://typed-greeter")
        call("inproc://typed-greeter")
        server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
