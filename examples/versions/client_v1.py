"""A client built against revision 1 of acme.v1, calling a server whose main schema is revision 2
(examples/versions/README.md):

    python examples/versions/client_v1.py unix:///tmp/acme.sock Ada

``expect_schema`` is the schema this client was built against; the server serves it as a
revision, so the client speaks it (every call carries ``hms-schema-revision``) and nothing is
reported incompatible.
"""

from __future__ import annotations

import pathlib
import sys

import hms_ffi

PROTO = pathlib.Path(__file__).resolve().parent / "proto" / "rev1" / "acme" / "v1" / "greeter.proto"


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else "unix:///tmp/acme-versions.sock"
    name = sys.argv[2] if len(sys.argv) > 2 else "Ada"
    with hms_ffi.connect(uri, expect_schema=hms_ffi.Schema.load(PROTO)) as client:
        print(f"[python v1] revision {client.revision} of {client.revisions}")
        print(f"[python v1] incompatible: {client.incompatible_methods()}")
        for method in ("SayHello", "SayGoodbye"):
            reply = client.call(f"acme.v1.Greeter/{method}", {"name": name}, timeout=10.0)
            print(f"[python v1] {method} -> {reply['message']}")


if __name__ == "__main__":
    main()
