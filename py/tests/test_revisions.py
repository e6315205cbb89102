"""Two revisions of one package served side by side (docs/evolution.md, "Two versions side by
side"): a call chooses its revision at connect or with the ``hms-schema-revision`` metadata
entry, and a v1 handler serves v2 callers through a bridge."""

from __future__ import annotations

import pathlib
from typing import Any, Dict, Iterator

import pytest

import hms_ffi

REV1 = """syntax = "proto3";
package acme.v1;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
"""

# Fields renamed (the same numbers) and added: compatible on the wire, not in JSON.
REV2 = """syntax = "proto3";
package acme.v1;
message HelloRequest { string full_name = 1; string locale = 2; }
message HelloReply { string text = 1; int32 length = 2; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
"""

BROKEN = REV1.replace("string name = 1", "double name = 1")
METHOD = "acme.v1.Greeter/SayHello"
TIMEOUT = 10.0


def schema(text: str) -> hms_ffi.Schema:
    return hms_ffi.Schema.from_source("acme/v1/greeter.proto", text)


def v1_handler(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
    return {"message": f"v1 {req['name']}"}


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[hms_ffi.Server]:
    """Revision 2 as the main schema with its handler, revision 1 beside it with its own."""
    s = hms_ffi.Server(schema(REV2))

    @s.method(METHOD)
    def v2(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        return {"text": f"v2 {req['full_name']} {req['locale']}", "length": len(req["full_name"])}

    s.add_revision("rev1", schema(REV1))
    s.add_method(METHOD, v1_handler, revision="rev1")
    s.listen(f"unix://{tmp_path}/rev.sock")
    yield s
    s.shutdown(1.0)


def test_a_client_chooses_its_revision_at_connect(server: hms_ffi.Server) -> None:
    uri = server.endpoints[0]
    fingerprint = server.revisions["rev1"]
    assert fingerprint.startswith("sha256:")
    with hms_ffi.connect(uri) as main:
        assert main.revision is None
        assert main.revisions == {"rev1": fingerprint}
        reply = main.call(METHOD, {"full_name": "Ada", "locale": "en"}, timeout=TIMEOUT)
        assert reply == {"text": "v2 Ada en", "length": 3}
    with hms_ffi.connect(uri, revision="rev1") as v1:
        assert v1.revision == fingerprint
        assert v1.call(METHOD, {"name": "Ada"}, timeout=TIMEOUT) == {"message": "v1 Ada"}
    # The schema the client was built against chooses the revision by itself.
    with hms_ffi.connect(uri, expect_schema=schema(REV1)) as built:
        assert built.revision == fingerprint
        assert built.incompatible_methods() == {}
        assert built.call(METHOD, {"name": "Bo"}, timeout=TIMEOUT) == {"message": "v1 Bo"}


def test_a_call_chooses_its_revision_with_metadata(server: hms_ffi.Server) -> None:
    # A client given revision 1's schema (as a stock client built from it would be) sends the
    # key itself, by label or by fingerprint.
    with hms_ffi.connect(server.endpoints[0], schema=schema(REV1)) as c:
        for key in ("rev1", server.revisions["rev1"]):
            reply = c.call(METHOD, {"name": "Ada"}, timeout=TIMEOUT, metadata={"hms-schema-revision": key})
            assert reply == {"message": "v1 Ada"}
        with pytest.raises(hms_ffi.FailedPrecondition) as err:
            c.call(METHOD, {"name": "Ada"}, timeout=TIMEOUT, metadata={"hms-schema-revision": "rev9"})
        assert err.value.reason == "UNKNOWN_SCHEMA_REVISION"
        assert "rev1 sha256:" in err.value.message
    with pytest.raises(hms_ffi.FailedPrecondition):
        hms_ffi.connect(server.endpoints[0], revision="rev9")


def test_revisions_refused_when_already_served(server: hms_ffi.Server) -> None:
    with pytest.raises(hms_ffi.AlreadyExists):
        server.add_revision("rev1", schema(REV1))
    with pytest.raises(hms_ffi.AlreadyExists):
        server.add_revision("again", schema(REV2))
    with pytest.raises(hms_ffi.InvalidArgument):
        server.add_revision("", schema(BROKEN))
    with pytest.raises(hms_ffi.NotFound):
        server.add_method(METHOD, v1_handler, revision="nope")


def test_a_v1_handler_serves_v2_callers_through_a_bridge(tmp_path: pathlib.Path) -> None:
    s = hms_ffi.Server(schema(REV2))
    s.add_revision("rev1", schema(REV1))
    s.add_method(METHOD, v1_handler, revision="rev1")
    s.bridge("rev1", METHOD)
    s.add_revision("broken", schema(BROKEN))
    s.add_method(METHOD, v1_handler, revision="broken")
    with pytest.raises(hms_ffi.FailedPrecondition) as err:
        s.bridge("broken", METHOD)
    assert err.value.reason == "INCOMPATIBLE_SCHEMA"
    assert "FIELD_WIRE_COMPATIBLE_TYPE" in err.value.message
    uri = s.listen(f"unix://{tmp_path}/bridge.sock")
    try:
        with hms_ffi.connect(uri) as v2:
            # The renamed field reaches the v1 handler by number; the added one is dropped.
            reply = v2.call(METHOD, {"full_name": "Ada", "locale": "en"}, timeout=TIMEOUT)
            assert reply == {"text": "v1 Ada", "length": 0}
    finally:
        s.shutdown(1.0)
