"""The Python side of the cross-language matrix (tests/matrix/run.py).

    python conformance.py serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
    python conformance.py client unix:///tmp/x.sock   # every vector as a client (the streaming
                                                      # ones when the server streams)
    python conformance.py streams grpc://127.0.0.1:P  # every streaming vector, against a server
                                                      # without hms-ffi discovery (stock gRPC)
"""

import pathlib
import sys
from typing import Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "py" / "tests"))

import hms_ffi  # noqa: E402
from stream_vectors import check_stream, load_stream_cases  # noqa: E402
from vectors import SERVICE, SKIPS, check, check_semantic, conformance_server, load_cases, load_semantic_cases  # noqa: E402


def server_streams(client: hms_ffi.Client) -> bool:
    """Whether the server serves streams: a binding without them answers UNIMPLEMENTED."""
    try:
        list(client.stream(f"{SERVICE}/ServerStream", {"counts": {"repeat": 0}}, timeout=10))
        return True
    except hms_ffi.Unimplemented:
        return False


def main() -> int:
    mode, uri = sys.argv[1], sys.argv[2]
    if mode == "serve":
        server = conformance_server()
        server.listen(uri)
        print("ready", flush=True)
        server.serve(grace=1.0)  # returns on SIGTERM/SIGINT after a graceful shutdown
        return 0
    if mode == "streams":
        schema = hms_ffi.Schema.load(pathlib.Path(__file__).resolve().parents[2] / "conformance" / "conformance.proto")
        client = hms_ffi.connect(uri, schema=schema)
        failed = 0
        cases = load_stream_cases()
        for stream_case in cases:
            try:
                check_stream(stream_case, client)
            except AssertionError as e:
                failed += 1
                print(f"FAIL {stream_case.id}: {e}")
        print(f"{len(cases) - failed} passed, {failed} failed")
        return 0 if failed == 0 else 1
    client = hms_ffi.connect(uri)
    outcome = {"passed": 0, "failed": 0}

    def run(case_id: str, check_case: Callable[[], None]) -> None:
        try:
            check_case()
            outcome["passed"] += 1
        except AssertionError as e:
            outcome["failed"] += 1
            print(f"FAIL {case_id}: {e}")

    for case in load_cases():
        run(case.id, lambda: check(case, client))
    skipped = 0
    skips = SKIPS.get("python", {}).get("client", {})
    for semantic in load_semantic_cases():
        if semantic.name in skips:
            skipped += 1
            print(f"SKIP {semantic.id}: {skips[semantic.name]}")
            continue
        run(semantic.id, lambda: check_semantic(semantic, client))
    streams = load_stream_cases()
    if not server_streams(client):
        skipped += len(streams)
        print(f"SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); {len(streams)} cases")
    else:
        for stream_case in streams:
            run(stream_case.id, lambda: check_stream(stream_case, client))
    passed, failed = outcome["passed"], outcome["failed"]
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
