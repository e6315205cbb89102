"""hms-ffi and stock gRPC peers, both ways: grpcio clients and servers, grpcurl. Loopback only."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import hms_ffi

SERVICE = "hms.conformance.v1.Conformance"
GRPCURL = str(Path(sys.executable).parent / "grpcurl")


def channel(addr: str) -> grpc.Channel:
    # A path is no valid :authority for h2, so stock clients over a unix socket set `localhost`.
    return grpc.insecure_channel(addr, options=[("grpc.default_authority", "localhost")])


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_grpcio_client_calls_hms_server(stubs, hms_server, transport) -> None:
    pb2, pb2_grpc = stubs
    stub = pb2_grpc.ConformanceStub(channel(hms_server[transport]))

    reply = stub.Echo(pb2.AllTypes(unicode_text="héllo", weight_mg=2**62, numbers=[1, -2], color=pb2.COLOR_BLUE), timeout=5)
    assert (reply.unicode_text, reply.weight_mg, list(reply.numbers), reply.color) == ("héllo", 2**62, [1, -2], pb2.COLOR_BLUE)

    items = list(stub.ServerStream(pb2.AllTypes(unicode_text="s"), timeout=5))
    assert [i.unicode_text for i in items] == ["s", "s", "s"]

    with pytest.raises(grpc.RpcError) as info:
        stub.Fail(pb2.FailRequest(code="INVALID_ARGUMENT", message="bad order", violation_paths=["items[2].price"]), timeout=5)
    call = info.value
    assert call.code() == grpc.StatusCode.INVALID_ARGUMENT and call.details() == "bad order"
    status = rpc_status.from_call(call)
    assert status is not None and status.message == "bad order"
    bad_request = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad_request) for d in status.details)
    assert [v.field for v in bad_request.field_violations] == ["items[2].price"]

    with pytest.raises(grpc.RpcError) as info:
        stub.Sleep(pb2.SleepRequest(millis=5000), timeout=0.2)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    # gzip both ways: the server accepts a compressed request and compresses its reply.
    gz = stub.Echo(pb2.AllTypes(unicode_text="z" * 10_000), timeout=5, compression=grpc.Compression.Gzip)
    assert gz.unicode_text == "z" * 10_000

    nope = channel(hms_server[transport]).unary_unary(f"/{SERVICE}/Nope")
    with pytest.raises(grpc.RpcError) as info:
        nope(b"", timeout=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_hms_client_calls_grpcio_server(stubs, tmp_path) -> None:
    pb2, pb2_grpc = stubs

    class Servicer(pb2_grpc.ConformanceServicer):
        def Echo(self, request, context):
            context.send_initial_metadata((("x-from", "grpcio"),))
            context.set_trailing_metadata((("x-done-bin", b"\x01\x02"),))
            return request

        def Fail(self, request, context):
            from google.protobuf import any_pb2
            from google.rpc import code_pb2, status_pb2

            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(field=p, description="no") for p in request.violation_paths]))
            context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=request.message, details=[detail])))

        def Sleep(self, request, context):
            import time

            time.sleep(request.millis / 1000)
            return pb2.google_dot_protobuf_dot_empty__pb2.Empty()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb2_grpc.add_ConformanceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.add_insecure_port(f"unix://{tmp_path}/grpcio.sock")
    server.start()
    try:
        schema = hms_ffi.Schema.load(Path(__file__).resolve().parents[1] / "conformance" / "conformance.proto")
        for uri in (f"grpc://127.0.0.1:{port}", f"grpc+unix://{tmp_path}/grpcio.sock"):
            client = hms_ffi.connect(uri, schema=schema)
            reply, headers, trailers = client.call_with_metadata(f"{SERVICE}/Echo", {"unicode_text": "from hms", "weight_mg": -7, "tags": ["a"]}, timeout=5)
            assert (reply["unicode_text"], reply["weight_mg"], reply["tags"]) == ("from hms", -7, ["a"])
            # The stock server's initial and trailing metadata, apart (-bin values are base64 text).
            assert headers["x-from"] == "grpcio" and "x-done-bin" not in headers
            assert base64.b64decode(trailers["x-done-bin"] + "=" * (-len(trailers["x-done-bin"]) % 4)) == b"\x01\x02"
            with pytest.raises(hms_ffi.InvalidArgument) as info:
                client.call(f"{SERVICE}/Fail", {"message": "refused", "violation_paths": ["x.y"]}, timeout=5)
            assert info.value.message == "refused" and info.value.field_violations == [("x.y", "no")]
            with pytest.raises(hms_ffi.DeadlineExceeded):
                client.call(f"{SERVICE}/Sleep", {"millis": 2000}, timeout=0.2)
            with pytest.raises(hms_ffi.Unimplemented):
                client.call(f"{SERVICE}/EchoScalars", {}, timeout=5)
    finally:
        server.stop(0)


def grpcurl(*args: str) -> str:
    r = subprocess.run([GRPCURL, "-plaintext", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_grpcurl_lists_describes_and_invokes_through_reflection(hms_server) -> None:
    addr = hms_server["tcp"]
    services = grpcurl(addr, "list").split()
    assert SERVICE in services and "grpc.health.v1.Health" in services
    assert "rpc ServerStream ( .hms.conformance.v1.AllTypes ) returns ( stream .hms.conformance.v1.AllTypes );" in grpcurl(addr, "describe", SERVICE)
    out = json.loads(grpcurl("-d", '{"unicodeText": "via grpcurl", "weightMg": "12"}', addr, f"{SERVICE}/Echo"))
    assert out["unicodeText"] == "via grpcurl" and out["weightMg"] == "12"
    health = json.loads(grpcurl("-d", "{}", addr, "grpc.health.v1.Health/Check"))
    assert health["status"] == "SERVING"


def test_hms_python_server_over_grpc(stubs, tmp_path) -> None:
    pb2, pb2_grpc = stubs
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "py" / "tests"))
    from vectors import conformance_server

    server = conformance_server()

    @server.method(f"{SERVICE}/Echo")
    def echo(req, ctx):
        ctx.set_header("x-served-by", "python")
        ctx.set_trailer("x-cost-bin", b"\x00\x2a")
        return req

    uri = server.listen("grpc://127.0.0.1:0")
    try:
        stub = pb2_grpc.ConformanceStub(channel(uri.removeprefix("grpc://")))
        # A Python handler's response headers and trailers, as a stock client reads them.
        _, call = stub.Echo.with_call(pb2.AllTypes(unicode_text="m"), timeout=5)
        assert ("x-served-by", "python") in call.initial_metadata()
        assert ("x-cost-bin", b"\x00\x2a") in call.trailing_metadata()
        assert stub.EchoScalars(pb2.Scalars(int64_v=-(2**63), string_v="py"), timeout=5).int64_v == -(2**63)
        with pytest.raises(grpc.RpcError) as info:
            stub.Fail(pb2.FailRequest(code="NOT_FOUND", message="nope"), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        server.shutdown()
