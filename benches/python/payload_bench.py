"""Nested messages of 64 B, 1 KiB and 64 KiB: Python client -> Python server over a unix socket,
hms-ffi against grpcio, and hms-ffi's value path against the stock protobuf library (upb).

Every row starts from the same native data, a dict such as a Python program holds:

  * hms-ffi unix: `client.call(method, order)`, server in its own process echoing the dict;
  * grpcio unix: the client builds the message from the dict (`json_format.ParseDict`, which
    takes bytes as base64 text, so its dicts are the ones `MessageToDict` gives back), the
    server echoes the message, the client turns the reply back into a dict
    (`json_format.MessageToDict`); message classes come from the same .proto at run time;
  * hms-ffi inproc: the same call to a server in this process (no socket, both ends' value
    walks: dict -> protobuf -> dict -> handler -> dict -> protobuf -> dict);
  * upb walk: what that inproc call does with the stock library, without any call:
    twice dict -> message -> bytes -> message -> dict.

Sequential p50/p99 of one caller per size. Run: make bench-py-payloads
"""

from __future__ import annotations

import argparse
import base64
import os
import pathlib
import subprocess
import tempfile
from typing import Any, Dict

import echo_bench
from echo_bench import latency, pct

PROTO = (pathlib.Path(__file__).resolve().parent.parent / "protos" / "orders.proto").read_text()
METHOD = "bench.v1.Orders/Echo"


def order(size: int) -> Dict[str, Any]:
    """An Order of about `size` bytes on the wire: items of about 100 bytes (strings, an int64,
    a double, repeated strings, bytes) and string labels; below 100 bytes, no items."""
    if size < 100:
        return {"id": "order-0001", "payload": bytes(size - 16), "status": 2}
    return {
        "id": "order-0001",
        "items": [
            {
                "name": f"item number {i}",
                "id": 1_000_000 + i,
                "price": 9.99 + i,
                "tags": ["red", "large", f"t{i}"],
                "blob": bytes(range(i % 7, i % 7 + 48)),
            }
            for i in range(size // 100)
        ],
        "labels": {"region": "eu-west", "tier": "gold"},
        "payload": bytes(16),
        "status": 2,
    }


def json_form(v: Any) -> Any:
    """The dict as protobuf's JSON mapping wants it: bytes as base64 text."""
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: json_form(x) for k, x in v.items()}
    if isinstance(v, list):
        return [json_form(x) for x in v]
    return v


def serve_hms(sock: str) -> None:
    echo_bench.serve_hms(sock, PROTO, METHOD)


def message_class():
    import hms_ffi
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fds = descriptor_pb2.FileDescriptorSet.FromString(
        hms_ffi.Schema.from_source("orders.proto", PROTO).to_descriptor_set()
    )
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.v1.Order"))


def serve_grpc(sock: str) -> None:
    Order = message_class()
    echo_bench.serve_grpc(
        sock,
        "bench.v1.Orders",
        workers=4,
        request_deserializer=Order.FromString,
        response_serializer=Order.SerializeToString,
    )


def spawn(kind: str, sock: str) -> subprocess.Popen:
    return echo_bench.spawn(kind, sock, script=__file__)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve-hms")
    ap.add_argument("--serve-grpc")
    ap.add_argument("-n", type=int, default=1000, help="sequential calls per row and size")
    args = ap.parse_args()
    if args.serve_hms:
        return serve_hms(args.serve_hms)
    if args.serve_grpc:
        return serve_grpc(args.serve_grpc)

    import grpc
    from google.protobuf import json_format

    import hms_ffi

    Order = message_class()
    tmp = tempfile.mkdtemp()
    hms_sock, grpc_sock = os.path.join(tmp, "hms.sock"), os.path.join(tmp, "grpc.sock")
    procs = [spawn("hms", hms_sock), spawn("grpc", grpc_sock)]
    local = hms_ffi.Server(hms_ffi.Schema.from_source("orders.proto", PROTO))
    local.add_method(METHOD, lambda r, c: r)
    local.listen("inproc://bench-orders")
    try:
        client = hms_ffi.connect(f"unix://{hms_sock}")
        inproc = hms_ffi.connect("inproc://bench-orders")
        channel = grpc.insecure_channel(f"unix://{grpc_sock}", options=[("grpc.default_authority", "localhost")])
        stub = channel.unary_unary(
            "/bench.v1.Orders/Echo",
            request_serializer=Order.SerializeToString,
            response_deserializer=Order.FromString,
        )

        def grpc_call(data: Dict[str, Any]) -> Dict[str, Any]:
            reply = stub(json_format.ParseDict(data, Order(), ignore_unknown_fields=False))
            return json_format.MessageToDict(reply, preserving_proto_field_name=True)

        def upb_walk(data: Dict[str, Any]) -> None:
            for _ in range(2):
                msg = Order.FromString(json_format.ParseDict(data, Order()).SerializeToString())
                json_format.MessageToDict(msg, preserving_proto_field_name=True)

        print(f"{'size':>7} {'row':<16} {'p50 µs':>9} {'p99 µs':>9}")
        for label, size in [("64 B", 64), ("1 KiB", 1024), ("64 KiB", 64 * 1024)]:
            data = order(size)
            # The stock library's dicts carry bytes as base64 text (and MessageToDict gives int64
            # back as text): start it from the dict it would give back.
            as_json = json_format.MessageToDict(
                json_format.ParseDict(json_form(data), Order()), preserving_proto_field_name=True
            )
            wire = len(json_format.ParseDict(as_json, Order()).SerializeToString())
            for reply in (client.call(METHOD, data), inproc.call(METHOD, data)):
                assert {k: reply[k] for k in data} == data, "the echo differs"
            assert grpc_call(as_json) == as_json
            rows = [
                ("hms-ffi unix", lambda: client.call(METHOD, data)),
                ("grpcio unix", lambda: grpc_call(as_json)),
                ("hms-ffi inproc", lambda: inproc.call(METHOD, data)),
                ("upb walk x2", lambda: upb_walk(as_json)),
            ]
            results = {}
            for name, fn in rows:
                lat = latency(fn, args.n if size < 65536 else max(200, args.n // 5), warmup=100)
                results[name] = pct(lat, 0.5)
                print(f"{label:>7} {name:<16} {pct(lat, 0.5):9.1f} {pct(lat, 0.99):9.1f}   ({wire} bytes on the wire)")
            print(
                f"{label:>7} ratios: unix hms/grpcio p50 = {results['hms-ffi unix'] / results['grpcio unix']:.3f}, "
                f"inproc hms / upb walk = {results['hms-ffi inproc'] / results['upb walk x2']:.2f}"
            )
    finally:
        local.shutdown()
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


if __name__ == "__main__":
    main()
