"""hms-ffi for Python: call functions written in any language through one Protocol Buffers
interface, in one process (``inproc://``) or across processes (``unix://``).

>>> import hms_ffi
>>> schema = hms_ffi.Schema.from_source("greeter.proto", '''
...     syntax = "proto3"; package demo.v1;
...     message HelloRequest { string name = 1; }
...     message HelloReply { string message = 1; }
...     service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }''')
>>> server = hms_ffi.Server(schema)
>>> @server.method("demo.v1.Greeter/SayHello")
... def say_hello(req, ctx):
...     return {"message": f"Hello {req['name']}"}
>>> server.listen("inproc://doctest-greeter")
'inproc://doctest-greeter'
>>> hms_ffi.connect("inproc://doctest-greeter").call("demo.v1.Greeter/SayHello", {"name": "Ada"})
{'message': 'Hello Ada'}
>>> server.shutdown()
"""

import atexit

from . import _native
from ._native import Context, Delivery, Schema
from .bus import Bus, DurableSubscription, Subscription
from .client import Client, EndpointStatus, MethodInfo, Reply, connect
from .converters import BUILTINS, Converter, Money
from .errors import (
    ERROR_CLASSES,
    Aborted,
    AlreadyExists,
    Cancelled,
    Code,
    DataLoss,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from .server import Server
from .streams import AsyncStream, Stream
from .times import Duration, Timestamp

_native._register_errors(dict(ERROR_CLASSES))
_native._register_types(Timestamp, Duration)

__version__ = _native.__version__

__all__ = [
    "Aborted",
    "AsyncStream",
    "AlreadyExists",
    "BUILTINS",
    "Bus",
    "Delivery",
    "DurableSubscription",
    "Cancelled",
    "Client",
    "Code",
    "Context",
    "Converter",
    "DataLoss",
    "DeadlineExceeded",
    "Duration",
    "EndpointStatus",
    "Error",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "MethodInfo",
    "Money",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "Reply",
    "ResourceExhausted",
    "Schema",
    "Server",
    "Stream",
    "Subscription",
    "Timestamp",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "connect",
]

# Spans queued for OTLP export (when OTEL_EXPORTER_OTLP_ENDPOINT is set) are sent before exit.
atexit.register(_native.flush_traces, 5.0)
