"""What a user of the installed `hms-ffi` package sees (run by scripts/test-dist/py.sh, outside
the checkout, against the Rust greeter server at $HMS_GREETER)."""

import os
import pathlib
import sys
from importlib import metadata

import pytest

import hms_ffi

PROTO = pathlib.Path(__file__).parent / "examples" / "protos" / "greeter.proto"


def test_the_package_is_the_installed_one():
    here = pathlib.Path(hms_ffi.__file__).resolve()
    assert pathlib.Path(sys.prefix).resolve() in here.parents, here
    assert metadata.version("hms-ffi") == os.environ["HMS_VERSION"]
    assert metadata.metadata("hms-ffi")["License"] == "Apache-2.0"


def test_a_call_to_the_rust_server():
    client = hms_ffi.connect(os.environ["HMS_GREETER"])
    reply = client.call("demo.v1.Greeter/SayHello", {"name": "Ada", "times": 2}, timeout=10)
    assert reply["message"].startswith("Hello Ada"), reply
    replies = list(client.stream("demo.v1.Greeter/Chatter", {"name": "Ada", "times": 3}, timeout=10))
    assert len(replies) == 3


def test_errors_keep_their_type():
    client = hms_ffi.connect(os.environ["HMS_GREETER"])
    with pytest.raises(hms_ffi.InvalidArgument):
        client.call("demo.v1.Greeter/SayHello", {"name": ""}, timeout=10)
    with pytest.raises(hms_ffi.Unimplemented):
        client.call("demo.v1.Greeter/NoSuchMethod", {}, timeout=10)


def test_inproc_in_one_process():
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO))

    @server.method("demo.v1.Greeter/SayHello")
    def say_hello(req, ctx):
        return {"message": "hi " + req["name"]}

    with server:
        server.listen("inproc://test-dist")
        reply = hms_ffi.connect("inproc://test-dist").call("demo.v1.Greeter/SayHello", {"name": "x"}, timeout=10)
        assert reply["message"] == "hi x"
