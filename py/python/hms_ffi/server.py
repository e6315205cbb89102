"""Servers: :class:`Server` with ``@server.method(...)`` handlers, plain or ``async def``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import signal
import threading
from types import FrameType
from typing import Any, Awaitable, Callable, Coroutine, Dict, Iterable, List, Mapping, Optional, TypeVar, Union

from . import _native, streams
from .client import _handler, _json_text
from .converters import BUILTINS, Converter
from .converters import _native as _converters
from .errors import Cancelled

Request = Dict[str, Any]
Reply = Dict[str, Any]
Handler = Callable[[Request, _native.Context], Union[Reply, Awaitable[Reply]]]
F = TypeVar("F", bound=Callable[..., Any])


class Server:
    """Serves the methods of a schema.

    Handlers take ``(request: dict, ctx: hms_ffi.Context)`` and return a dict (or are
    ``async def`` and return one). Plain handlers run on hms-ffi worker threads holding the GIL;
    ``async def`` handlers run on an asyncio loop (``loop`` if given, else one the server owns)
    without holding any thread while they await.
    An exception in a handler reaches the caller as ``Internal`` (or the code of an
    :class:`hms_ffi.Error`) with the traceback in its details; the server keeps serving.
    ``security`` names a TOML security file (limits, bearer tokens, policy, audit log; see
    ``docs/security.md``); its limits come first, then ``max_message_bytes`` and
    ``max_concurrent_per_connection`` override them. ``service_config`` (a gRPC service config,
    a dict or its JSON text) is announced in discovery: clients that discover the schema and
    were given no config of their own retry and time out by it (``docs/resilience.md``); a bad
    one raises :class:`hms_ffi.InvalidArgument` here. ``converters`` map message types and
    declared formats to Python types on requests and replies (:mod:`hms_ffi.converters`; the
    built-ins by default, ``[]`` for none).
    """

    def __init__(
        self,
        schema: _native.Schema,
        *,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        max_message_bytes: Optional[int] = None,
        max_concurrent_per_connection: Optional[int] = None,
        security: Optional[str] = None,
        service_config: Union[Mapping[str, Any], str, None] = None,
        converters: Iterable[Converter] = BUILTINS,
    ) -> None:
        config = _json_text(service_config, "service config", "BAD_SERVICE_CONFIG")
        self._native = _native.Server(
            schema, max_message_bytes, max_concurrent_per_connection, security, config, _converters(converters)
        )
        self._schema = schema
        self._kinds = {m[0]: m[3] for m in schema.methods()}
        self._revision_kinds: Dict[str, Dict[str, str]] = {}
        self._loop = loop
        self._own_loop: Optional[asyncio.AbstractEventLoop] = None
        self._lock = threading.Lock()

    @property
    def schema(self) -> _native.Schema:
        return self._schema

    @property
    def endpoints(self) -> List[str]:
        """The endpoints listened on."""
        return self._native.endpoints

    @property
    def schema_version(self) -> Dict[str, Any]:
        """The schema version discovery announces: ``{"fingerprint", "subject", "version"}``
        (the fingerprint as the schema registry computes it; subject and version once set)."""
        fingerprint, subject, version = self._native.schema_version
        return {"fingerprint": fingerprint, "subject": subject, "version": version}

    def set_schema_version(self, subject: str, version: int) -> None:
        """Records the schema registry subject and version of the schema served; discovery
        announces them from now on, and clients see them as ``client.schema_version``."""
        self._native.set_schema_version(subject, version)

    def add_revision(self, label: str, schema: _native.Schema) -> str:
        """Serves ``schema`` beside the main one as the revision ``label`` and returns its
        fingerprint. Discovery announces it; a call whose ``hms-schema-revision`` metadata names
        its label or fingerprint speaks it (``connect(uri, revision=label)`` sends it). Register
        its handlers with ``method(name, revision=label)``. Raises :class:`hms_ffi.AlreadyExists`
        for a label or schema already served."""
        fingerprint = self._native.add_revision(label, schema)
        self._revision_kinds[label] = {m[0]: m[3] for m in schema.methods()}
        return fingerprint

    @property
    def revisions(self) -> Dict[str, str]:
        """The revisions served beside the main schema, ``{label: fingerprint}``."""
        return dict(self._native.revisions)

    def bridge(self, revision: str, method: str) -> None:
        """Serves the main schema's ``method`` with the handler registered for it in
        ``revision``: the migration path, a v1 handler answering v2 callers. Raises
        :class:`hms_ffi.FailedPrecondition` (reason ``INCOMPATIBLE_SCHEMA``) unless the method
        reads alike on the wire in both (``docs/evolution.md``)."""
        self._native.bridge(revision, method)

    def method(self, name: str, *, revision: Optional[str] = None) -> Callable[[F], F]:
        """Decorator registering a handler for the method ``name`` (``pkg.Service/Method``), of
        any kind (see :meth:`add_method`), of the main schema or of the schema ``revision``."""

        def register(handler: F) -> F:
            self.add_method(name, handler, revision=revision)
            return handler

        return register

    def add_method(self, name: str, handler: Callable[..., Any], *, revision: Optional[str] = None) -> None:
        """Registers a handler for the method ``name``, of any kind:

        - unary: ``(request, ctx) -> reply`` (or ``async def``);
        - server streaming: a generator ``(request, ctx)`` yielding replies (or an ``async``
          generator);
        - client streaming: ``(requests, ctx) -> reply``, ``requests`` an iterator of the
          requests (an async iterator for ``async def``);
        - bidi streaming: a generator ``(requests, ctx)`` yielding replies (or an ``async``
          generator over an async iterator).

        Plain streaming handlers run on a worker thread of their own; every wait for the next
        request gives up the GIL.
        """
        kinds = self._kinds if revision is None else self._revision_kinds.get(revision, self._kinds)
        kind = kinds.get(name, "unary")
        is_async = inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler)
        if kind != "unary":
            if is_async:
                starter = streams.async_starter(kind, handler, self._event_loop)
                self._native.register_stream(name, starter, True, revision)
            else:
                self._native.register_stream(name, streams.sync_runner(kind, handler), False, revision)
        elif is_async:
            self._native.register_async(name, self._starter(handler), revision)
        else:
            self._native.register(name, handler, revision)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        with self._lock:
            if self._own_loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="hms-ffi-asyncio", daemon=True).start()
                self._own_loop = loop
            return self._own_loop

    def _starter(
        self, handler: Callable[[Request, _native.Context], Coroutine[Any, Any, Reply]]
    ) -> Callable[[Request, _native.Context, Callable[[bool, Any], None]], Callable[[], bool]]:
        """Schedules the coroutine on the loop without blocking any thread; ``done`` gets the
        outcome; the returned ``cancel`` is called if the call ends first (deadline, caller gone)."""

        async def run(request: Request, ctx: _native.Context) -> Reply:
            _handler.set(ctx)  # this task's own context: its calls inherit the deadline
            return await handler(request, ctx)

        def start(request: Request, ctx: _native.Context, done: Callable[[bool, Any], None]) -> Callable[[], bool]:
            future = asyncio.run_coroutine_threadsafe(run(request, ctx), self._event_loop())

            def finished(f: "concurrent.futures.Future[Reply]") -> None:
                if f.cancelled():
                    done(False, Cancelled("call cancelled or past its deadline"))
                    return
                exc = f.exception()
                if exc is not None:
                    done(False, exc)
                else:
                    done(True, f.result())

            future.add_done_callback(finished)
            return future.cancel

        return start

    def listen(self, uri: str) -> str:
        """Listens on ``inproc://name`` or ``unix:///path.sock`` (call once per endpoint)."""
        return self._native.listen(uri)

    def admin(self, uri: str) -> str:
        """Starts the admin listener on ``http://host:port`` (port 0 picks one): ``/metrics``
        (Prometheus text) and ``/healthz``; returns it as bound (see docs/observability.md)."""
        return self._native.admin(uri)

    def serve(self, grace: float = 5.0, *, handle_signals: bool = True) -> None:
        """Blocks until :meth:`shutdown` (from another thread or a handler), SIGTERM or SIGINT
        (Ctrl-C). A signal stops the server gracefully, as :meth:`shutdown` does: no new calls,
        calls in flight get up to ``grace`` seconds to finish, then every endpoint is closed and
        ``serve()`` returns normally.

        Called in the main thread with ``handle_signals`` true (the default), ``serve()`` installs
        its own SIGTERM and SIGINT handlers and puts the previous ones back when the first signal
        arrives (and when it returns). So SIGTERM, which process managers send, drains instead of
        killing the process, and Ctrl-C stops the server even when the process started with
        SIGINT ignored (a background job of a shell script, for instance). A second signal during
        the drain meets the previous handler: with Python's defaults a second Ctrl-C cancels the
        calls still in flight and raises ``KeyboardInterrupt`` from ``serve()``, and a second
        SIGTERM ends the process. From another thread, or with ``handle_signals=False``, signals
        are left to the application (a ``KeyboardInterrupt`` still stops the server gracefully).
        """
        caught: List[int] = []
        previous = _take_signals(caught) if handle_signals else {}
        try:
            while not self._native.wait(0.2):
                if caught:
                    break
        except KeyboardInterrupt:
            _restore_signals(previous)
            self.shutdown(grace)
            return
        finally:
            _restore_signals(previous)
        if caught:
            self._drain(grace)

    def _drain(self, grace: float) -> None:
        """:meth:`shutdown` on another thread, so that this one still takes signals meanwhile; a
        ``KeyboardInterrupt`` cuts the drain short."""
        failure: List[BaseException] = []

        def run() -> None:
            try:
                self.shutdown(grace)
            except BaseException as e:  # noqa: BLE001 - re-raised on the serving thread
                failure.append(e)

        drain = threading.Thread(target=run, name="hms-ffi-drain", daemon=True)
        drain.start()
        try:
            while drain.is_alive():
                drain.join(0.2)
        except KeyboardInterrupt:
            self._native.shutdown(0.0)  # cancel the calls still in flight
            raise
        if failure:
            raise failure[0]

    def shutdown(self, grace: float = 5.0) -> None:
        """Stops accepting calls, lets calls in flight finish for up to ``grace`` seconds,
        then cancels the rest and closes every endpoint."""
        self._native.shutdown(grace)
        with self._lock:
            if self._own_loop is not None:
                self._own_loop.call_soon_threadsafe(self._own_loop.stop)
                self._own_loop = None

    @property
    def stopped(self) -> bool:
        return self._native.stopped

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"Server(endpoints={self.endpoints!r})"


_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))
_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, None]


def _take_signals(caught: List[int]) -> Dict[int, _Handler]:
    """Installs a handler for SIGINT and SIGTERM that records the signal in ``caught`` and puts
    the previous handlers back; returns those (nothing outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: Dict[int, _Handler] = {}

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        caught.append(signum)
        _restore_signals(previous)

    try:
        for sig in _SIGNALS:
            previous[sig] = signal.signal(sig, on_signal)
    except (ValueError, OSError):  # not the main interpreter, for instance
        _restore_signals(previous)
        return {}
    return previous


def _restore_signals(previous: Dict[int, _Handler]) -> None:
    for sig, handler in previous.items():
        # None: a handler installed from C, which Python cannot put back; the default it is.
        signal.signal(sig, signal.SIG_DFL if handler is None else handler)
