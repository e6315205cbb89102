"""Server streaming, Python → Python over a unix socket: one call streaming N 64-byte messages,
hms-ffi against grpcio (raw-bytes handlers, no protobuf work for grpcio) and against the floor,
a raw length-prefixed socket stream in Python (the server writes N frames, the client reads
them). Messages per second, best of three, in one run. Run: make bench-py-streams
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_bench import recv_exact, spawn  # noqa: E402

PROTO = '''syntax = "proto3"; package bench.v1; message Blob { bytes data = 1; int64 n = 2; }
service Stream { rpc Many(Blob) returns (stream Blob); }'''
METHOD = "bench.v1.Stream/Many"
PAYLOAD = bytes(range(64))


def serve_hms(sock: str) -> None:
    import hms_ffi

    server = hms_ffi.Server(hms_ffi.Schema.from_source("bench.proto", PROTO))

    @server.method(METHOD)
    def many(req, ctx):
        reply = {"data": req["data"]}
        for _ in range(req["n"]):
            yield reply

    server.listen(f"unix://{sock}")
    print("ready", flush=True)
    server.serve()


def serve_grpc(sock: str) -> None:
    from concurrent import futures

    import grpc

    def many(req: bytes, ctx):
        n = int.from_bytes(req[:4], "big")
        reply = b"\x0a\x40" + PAYLOAD
        for _ in range(n):
            yield reply

    handler = grpc.method_handlers_generic_handler("bench.v1.Stream", {"Many": grpc.unary_stream_rpc_method_handler(many)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"unix://{sock}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def serve_raw(sock: str) -> None:
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock)
    listener.listen(8)
    print("ready", flush=True)
    frame = len(PAYLOAD).to_bytes(4, "big") + PAYLOAD
    while True:
        conn, _ = listener.accept()
        with conn:
            head = recv_exact(conn, 4)
            if not head:
                continue
            n = int.from_bytes(recv_exact(conn, int.from_bytes(head, "big")), "big")
            for _ in range(n):
                conn.sendall(frame)


def best(run: Callable[[], int], rounds: int = 3) -> float:
    rates = []
    for _ in range(rounds):
        t = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - t))
    return max(rates)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve-hms")
    ap.add_argument("--serve-grpc")
    ap.add_argument("--serve-raw")
    ap.add_argument("-n", type=int, default=100_000, help="messages per stream")
    args = ap.parse_args()
    if args.serve_hms:
        return serve_hms(args.serve_hms)
    if args.serve_grpc:
        return serve_grpc(args.serve_grpc)
    if args.serve_raw:
        return serve_raw(args.serve_raw)

    import socket

    import grpc

    import hms_ffi

    tmp = tempfile.mkdtemp()
    socks = {k: os.path.join(tmp, f"{k}.sock") for k in ("hms", "grpc", "raw")}
    script = os.path.abspath(__file__)
    procs = [spawn(k, s, script) for k, s in socks.items()]
    n = args.n
    try:
        client = hms_ffi.connect(f"unix://{socks['hms']}")
        channel = grpc.insecure_channel(f"unix://{socks['grpc']}", options=[("grpc.default_authority", "localhost")])
        stub = channel.unary_stream("/bench.v1.Stream/Many")

        def hms_run() -> int:
            count = 0
            for reply in client.stream(METHOD, {"data": PAYLOAD, "n": n}):
                count += 1
            assert count == n and reply["data"] == PAYLOAD
            return count

        def grpc_run() -> int:
            count = sum(1 for _ in stub(n.to_bytes(4, "big")))
            assert count == n
            return count

        def raw_run() -> int:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(socks["raw"])
                body = n.to_bytes(4, "big")
                conn.sendall(len(body).to_bytes(4, "big") + body)
                for _ in range(n):
                    recv_exact(conn, int.from_bytes(recv_exact(conn, 4), "big"))
            return n

        rows = [("hms-ffi unix", best(hms_run)), ("grpcio unix", best(grpc_run)), ("raw unix stream", best(raw_run))]
        print(f"{'transport':<16} {'messages/s':>12}   ({n} 64-byte messages per stream, best of 3)")
        for name, rate in rows:
            print(f"{name:<16} {rate:>12,.0f}")
        print(f"ratios: hms/grpcio = {rows[0][1] / rows[1][1]:.1f}x, hms/raw = {rows[0][1] / rows[2][1]:.2f}x")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


if __name__ == "__main__":
    main()
