"""A server of the fault proof (tests/faults/test_faults.py): `server.py PROTO URI LOG NAME` serves
res.v1.Counter on URI and prints "ready"; with `--standby` it first waits for a line on stdin,
so that a replacement can be started ahead and take over a moment after a server is killed. Every run of a handler first appends the request's id
to LOG (one `write` of one line on a file opened O_APPEND, so lines of concurrent runs and of
several servers never mix) and only then replies: a run counted was a run made, and a run made
before the server is killed with SIGKILL is counted although its reply never left."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Dict

import hms_ffi


def main() -> None:
    proto, uri, log, name = sys.argv[1:5]
    standby = sys.argv[5:] == ["--standby"]
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    server = hms_ffi.Server(hms_ffi.Schema.load(proto))

    def counted(req: Dict[str, Any], ctx: hms_ffi.Context) -> Dict[str, Any]:
        rid = req.get("id", "")
        os.write(fd, f"{rid}\n".encode())
        return {"id": rid, "server": name}

    server.add_method("res.v1.Counter/Get", counted)
    server.add_method("res.v1.Counter/Add", counted)
    if standby and not sys.stdin.readline():
        return
    # A grpc:// port let go by the server killed a moment ago may still be taken: up to 10 s.
    until = time.monotonic() + 10
    while True:
        try:
            server.listen(uri)
            break
        except hms_ffi.Error:
            if time.monotonic() > until:
                raise
            time.sleep(0.02)
    print("ready", flush=True)
    server.serve(grace=0)


if __name__ == "__main__":
    main()
