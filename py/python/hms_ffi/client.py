"""Clients: :func:`connect` and :class:`Client`."""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import json
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _native
from .converters import BUILTINS, Converter
from .converters import _native as _converters
from .errors import Error, InvalidArgument
from .streams import AsyncRequests, AsyncStream, Requests, Stream


class MethodInfo(NamedTuple):
    """A method a server offers."""

    name: str
    """``package.Service/Method``"""
    input_type: str
    output_type: str
    kind: str
    """``unary``, ``server_streaming``, ``client_streaming`` or ``bidi_streaming``"""


_handler: "contextvars.ContextVar[Optional[_native.Context]]" = contextvars.ContextVar("hms_ffi_handler", default=None)
"""The context of the ``async def`` handler running in this asyncio task: calls made from it
inherit its deadline and cancellation (sync handlers need none: the core sees their thread)."""


def _methods(raw: List[Any]) -> List[MethodInfo]:
    return [MethodInfo(*m) for m in raw]


def _propagator() -> Any:
    """OpenTelemetry's propagation API when it is installed (``None`` otherwise)."""
    try:
        return importlib.import_module("opentelemetry.propagate")
    except ImportError:
        return None


_otel = _propagator()
"""With OpenTelemetry installed, a call joins the current span of its SDK: the SDK's own
propagator writes ``traceparent`` (and ``tracestate``, ``baggage``) into the call's metadata,
and the core makes the call's client span a child of it."""


def _args(request: Optional[Mapping[str, Any]], metadata: Optional[Mapping[str, str]]) -> Tuple[Mapping[str, Any], Dict[str, str]]:
    md = dict(metadata or {})
    if _otel is not None and "traceparent" not in md:
        _otel.inject(md)
    return ({} if request is None else request), md


def _settle(fut: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


def _batch_args(
    calls: Iterable[Tuple[str, Optional[Mapping[str, Any]]]], metadata: Optional[Mapping[str, str]]
) -> Tuple[List[Tuple[str, Mapping[str, Any]]], Dict[str, str]]:
    """A batch's calls (a missing request is the empty message) and its metadata, as one call's."""
    items = [(method, {} if request is None else request) for method, request in calls]
    return items, _args(None, metadata)[1]


async def _awaited(start: Callable[[Callable[[bool, Any], None]], Any]) -> Any:
    """Awaits a native call that ``start(done)`` began, whose callback ``done(ok, value)`` runs on
    a worker thread; cancelling the awaiting task cancels the call (the handler sees
    ``ctx.cancelled``)."""
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[Any]" = loop.create_future()

    def done(ok: bool, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(_settle, fut, ok, value)
        except RuntimeError:
            pass  # the loop has closed: nobody is waiting any more

    handle = start(done)
    try:
        return await fut
    except asyncio.CancelledError:
        handle.cancel()
        raise


class EndpointStatus(NamedTuple):
    """One endpoint of a client."""

    uri: str
    state: str
    """as :attr:`Client.state`"""
    ejected: bool
    """set aside after consecutive failures, until its ejection time passes"""


class Reply(NamedTuple):
    """A reply with the response metadata the handler set (first value of each key; ``-bin``
    values are base64 text, as on the wire)."""

    message: Dict[str, Any]
    headers: Dict[str, str]
    trailers: Dict[str, str]


class Client:
    """A connection to an hms-ffi server. Calls may run concurrently from many threads."""

    def __init__(self, native: _native.Client) -> None:
        self._native = native

    @property
    def endpoint(self) -> str:
        """The endpoint URI connected to."""
        return self._native.endpoint

    @property
    def schema(self) -> _native.Schema:
        """The server's schema (discovered when connecting)."""
        return self._native.schema

    @property
    def schema_version(self) -> Optional[Dict[str, Any]]:
        """The schema version the server announced in discovery: ``{"fingerprint", "subject",
        "version"}`` (subject and version when the server knows its registry version), or
        ``None`` when the schema was given rather than discovered."""
        v = self._native.schema_version
        return None if v is None else {"fingerprint": v[0], "subject": v[1], "version": v[2]}

    @property
    def revision(self) -> Optional[str]:
        """The fingerprint of the schema revision this client speaks (chosen at connect with
        ``revision`` or ``expect_schema``), or ``None`` for the server's main schema."""
        return self._native.revision

    @property
    def revisions(self) -> Dict[str, str]:
        """The revisions the server serves beside its main schema, ``{label: fingerprint}``."""
        return dict(self._native.revisions)

    def incompatible_methods(self) -> Dict[str, List[str]]:
        """The methods of ``expect_schema`` that the server's schema breaks, each with its
        findings (``path:line:column:RULE_ID message``); calls to them raise
        :class:`hms_ffi.FailedPrecondition` (reason ``INCOMPATIBLE_SCHEMA``) before anything is sent."""
        return self._native.incompatible_methods()

    def methods(self) -> List[MethodInfo]:
        """Every method the server offers."""
        return _methods(self._native.methods())

    def call(
        self,
        method: str,
        request: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> Dict[str, Any]:
        """Calls a unary method and returns the reply. Blocks without holding the GIL.

        ``wait_for_ready=True`` waits for a connection up to ``timeout`` instead of failing
        :class:`hms_ffi.Unavailable` at once while there is none (default: the method's policy,
        else the client's ``waitForReady`` option). Raises a subclass of
        :class:`hms_ffi.Error` for every failure.
        """
        req, md = _args(request, metadata)
        return self._native.call(method, req, timeout, md, wait_for_ready, _handler.get())

    def call_with_metadata(
        self,
        method: str,
        request: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> Reply:
        """Like :meth:`call`, also returning the response headers and trailers
        (:meth:`Context.set_header`, :meth:`Context.set_trailer`)."""
        req, md = _args(request, metadata)
        return Reply(*self._native.call_with_metadata(method, req, timeout, md, wait_for_ready, _handler.get()))

    async def call_async(
        self,
        method: str,
        request: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> Dict[str, Any]:
        """Like :meth:`call`, as an awaitable on the running asyncio loop. Cancelling the task
        that awaits it cancels the call (the handler sees ``ctx.cancelled``)."""
        req, md = _args(request, metadata)
        reply: Dict[str, Any] = await _awaited(
            lambda done: self._native.call_with_callback(method, req, done, timeout, md, wait_for_ready, _handler.get())
        )
        return reply

    def batch(
        self,
        calls: Iterable[Tuple[str, Optional[Mapping[str, Any]]]],
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> List[Union[Dict[str, Any], Error]]:
        """Calls every ``(method, request)`` of ``calls`` as one batch and returns one entry per
        call, in order: the reply, or the call's :class:`hms_ffi.Error` (returned, not raised,
        as ``asyncio.gather(..., return_exceptions=True)`` does). Blocks without the GIL.

        The calls go out together over the client's connection and the server runs them
        concurrently. ``timeout`` is one deadline for the whole batch; a failed call does not
        stop the others; ``metadata`` goes with every call. A batch of more than 100 000 calls
        raises :class:`hms_ffi.InvalidArgument` before anything is sent.
        """
        items, md = _batch_args(calls, metadata)
        return self._native.batch(items, timeout, md, wait_for_ready, _handler.get())

    async def batch_async(
        self,
        calls: Iterable[Tuple[str, Optional[Mapping[str, Any]]]],
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> List[Union[Dict[str, Any], Error]]:
        """Like :meth:`batch`, as an awaitable on the running asyncio loop. Cancelling the task
        that awaits it cancels every call not finished."""
        items, md = _batch_args(calls, metadata)
        entries: List[Union[Dict[str, Any], Error]] = await _awaited(
            lambda done: self._native.batch_with_callback(items, done, timeout, md, wait_for_ready, _handler.get())
        )
        return entries

    def stream(
        self,
        method: str,
        requests: Requests = None,
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> Stream:
        """Opens a streaming call and returns it as an iterator of replies:
        ``for reply in client.stream(method, request)``.

        ``requests`` is the one request of a server-streaming method, or an iterable of the
        requests of a client- or bidi-streaming method (sent while replies are read; the stream
        is half-closed after the last). Without requests, send them with
        :meth:`Stream.send` and :meth:`Stream.close_send`. A client-streaming call's reply is
        :meth:`Stream.result`. ``timeout`` bounds the whole call; ``wait_for_ready`` is as for
        :meth:`call`. Opened inside a handler, the stream inherits the handler's deadline and
        cancellation, as a call does.
        """
        md = _args(None, metadata)[1]
        native = self._native.open_stream(method, timeout, md, wait_for_ready, _handler.get())
        return Stream(native, requests)

    def stream_async(
        self,
        method: str,
        requests: AsyncRequests = None,
        *,
        timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, str]] = None,
        wait_for_ready: Optional[bool] = None,
    ) -> AsyncStream:
        """:meth:`stream` for asyncio: ``async for reply in client.stream_async(...)``;
        ``requests`` may be an async iterable too."""
        md = _args(None, metadata)[1]
        parent = _handler.get()
        return AsyncStream(
            lambda: self._native.open_stream(method, timeout, md, wait_for_ready, parent), requests
        )

    @property
    def state(self) -> str:
        """The connection's state: ``"idle"`` (lost; the next call reconnects),
        ``"connecting"``, ``"ready"``, ``"transient_failure"`` (in backoff after a failed
        attempt) or ``"shutdown"`` (closed). With several endpoints, the best of theirs."""
        return self._native.state

    @property
    def transport(self) -> Optional[str]:
        """Where calls go now, while connected: for ``auto://NAME`` the transport it picked
        (``"inproc://NAME"``, ``"shm://NAME"``, a ``unix://`` socket or a network URI), else the
        endpoint itself; ``None`` while no connection is up (the next call reconnects, and
        ``auto://`` resolves the name again)."""
        return self._native.transport

    def endpoints(self) -> List[EndpointStatus]:
        """Each endpoint given to :func:`connect`, with its state and whether it is ejected."""
        return [EndpointStatus(*e) for e in self._native.endpoints()]

    def close(self) -> None:
        """Closes the client: calls in flight and every later call raise
        :class:`hms_ffi.Cancelled` (reason ``CLIENT_CLOSED``), on every transport."""
        self._native.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.endpoint!r})"


def connect(
    uri: Union[str, Sequence[str]],
    *,
    schema: Optional[_native.Schema] = None,
    resilience: Union[Mapping[str, Any], str, None] = None,
    expect_schema: Optional[_native.Schema] = None,
    converters: Iterable[Converter] = BUILTINS,
    revision: Optional[str] = None,
) -> Client:
    """Connects to ``inproc://name``, ``unix:///path.sock``, ``grpc://host:port``,
    ``grpc+unix:///path.sock``, ``http://host:port`` (Connect) or ``ws://host:port`` and discovers
    the server's schema; pass ``schema`` for a server without hms-ffi discovery (a stock gRPC or
    Connect server).

    ``uri`` may be a list of endpoints of one service. ``resilience`` (a dict or its JSON text)
    sets reconnect backoff, retry policies (a gRPC service config under ``"serviceConfig"``),
    keepalive, wait for ready, load balancing and health checks, as ``docs/resilience.md``
    describes: ``connect(uri, resilience={"keepalive": {"interval": "10s"}})``. ``expect_schema``
    is the schema this client was built against: each of its methods is checked against the
    server's at connect, and calls to those that break fail early (``docs/evolution.md``); when
    it is a revision the server serves beside its main schema, the client speaks that revision.
    ``revision`` (a label or fingerprint the server announces) chooses one explicitly: every call
    then carries the ``hms-schema-revision`` metadata entry. ``converters`` map message types and declared formats to Python types on requests and
    replies (:mod:`hms_ffi.converters`; the built-ins by default, ``[]`` for none)."""
    uris = [uri] if isinstance(uri, str) else list(uri)
    options = _json_text(resilience, "resilience options", "BAD_RESILIENCE")
    return Client(_native.connect(uris, schema, options, expect_schema, _converters(converters), revision))


def _json_text(value: Union[Mapping[str, Any], str, None], what: str, reason: str) -> Optional[str]:
    """``value`` as JSON text for the core: a str as it is, a dict dumped."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what} are not JSON: {e}", reason=reason) from e
