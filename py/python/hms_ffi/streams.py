"""Streaming calls: :class:`Stream` (iterate replies, feed requests from any iterable) and
:class:`AsyncStream` (``async for``, requests from an iterable or async iterable), and the
runners that serve streaming handlers written as generators or ``async`` generators.

The rules of a stream — deadlines, cancellation, half-close, limits, an error arriving after
the messages sent before it — are the core's; this module only adapts them to iterators.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, AsyncIterable, AsyncIterator, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Union

from . import _native
from .errors import Cancelled, Error

Message = Dict[str, Any]
Requests = Union[Mapping[str, Any], Iterable[Mapping[str, Any]], None]
AsyncRequests = Union[Mapping[str, Any], Iterable[Mapping[str, Any]], AsyncIterable[Mapping[str, Any]], None]


def _first_request(native: _native.ClientStream, requests: Any) -> bool:
    """Sends a server-streaming call's one request and half-closes; False for the other
    kinds, whose requests are fed separately."""
    if native.kind != "server_streaming":
        if isinstance(requests, Mapping):
            raise TypeError(f"a {native.kind} call takes an iterable of requests, not one request")
        return False
    native.send({} if requests is None else requests)
    native.close_send()
    return True


def _raise_failure(failure: Optional[BaseException]) -> None:
    """Raises what broke the requests' iterable, which ended the call (cancelled it), instead of
    the reading side's `Cancelled`."""
    if failure is not None:
        raise failure from None


class Stream:
    """A streaming call: iterate it for the replies (``for reply in client.stream(...)``).

    Requests given as an iterable are sent from a thread of their own while replies are read,
    then the stream is half-closed; without them, :meth:`send` and :meth:`close_send` do it by
    hand. An exception raised by the requests' iterable cancels the call and is raised by the
    iteration. Leaving a ``with`` block before the end cancels the call.
    """

    def __init__(self, native: _native.ClientStream, requests: Requests = None) -> None:
        self._native = native
        self._failure: Optional[BaseException] = None
        self._done = False
        self._feeder: Optional[threading.Thread] = None
        if not _first_request(native, requests) and requests is not None:
            feed = iter(requests)
            self._feeder = threading.Thread(target=self._feed, args=(feed,), name="hms-ffi-stream-feed", daemon=True)
            self._feeder.start()

    def _feed(self, requests: Iterator[Mapping[str, Any]]) -> None:
        try:
            for request in requests:
                self._native.send(request)
            self._native.close_send()
        except BaseException as e:  # noqa: BLE001 - raised to the reader instead
            self._failure = e
            self._native.cancel()

    @property
    def kind(self) -> str:
        """``server_streaming``, ``client_streaming`` or ``bidi_streaming``."""
        return self._native.kind

    def send(self, request: Mapping[str, Any]) -> None:
        """Sends one request (a stream opened without requests)."""
        self._native.send(request)

    def close_send(self) -> None:
        """Half-closes: no more requests."""
        self._native.close_send()

    def cancel(self) -> None:
        """Cancels the call; the server's handler sees ``ctx.cancelled``."""
        self._native.cancel()

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Message:
        if self._done:
            raise StopIteration
        try:
            reply = self._native.recv()
        except BaseException:
            self._done = True
            _raise_failure(self._failure)
            raise
        if reply is None:
            self._done = True
            _raise_failure(self._failure)
            raise StopIteration
        return reply

    def result(self) -> Message:
        """The one reply of a client-streaming call (read to the end); `Internal` when the
        server sent none or more than one."""
        self._done = True
        try:
            reply = self._native.recv_only()
        finally:
            _raise_failure(self._failure)
        return reply

    @property
    def headers(self) -> Optional[Dict[str, str]]:
        """The response headers, once they have arrived."""
        return self._native.headers

    @property
    def trailers(self) -> Dict[str, str]:
        """The response trailers, complete once the replies have ended."""
        return self._native.trailers

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.cancel()


class AsyncStream:
    """:class:`Stream` for asyncio: ``async for reply in client.stream_async(...)``. Requests
    may be an iterable or an async iterable; they are sent by a task of the running loop.
    Cancelling the task that reads cancels the call."""

    def __init__(self, opener: Callable[[], _native.ClientStream], requests: AsyncRequests = None) -> None:
        self._opener = opener
        self._requests = requests
        self._native: Optional[_native.ClientStream] = None
        self._feeder: Optional["asyncio.Task[None]"] = None
        self._failure: Optional[BaseException] = None
        self._done = False

    async def _open(self) -> _native.ClientStream:
        if self._native is None:
            loop = asyncio.get_running_loop()
            native = await loop.run_in_executor(None, self._opener)
            self._native = native
            if not _first_request(native, self._requests) and self._requests is not None:
                self._feeder = loop.create_task(self._feed(native, self._requests))
        return self._native

    async def _feed(self, native: _native.ClientStream, requests: Any) -> None:
        try:
            if hasattr(requests, "__aiter__"):
                async for request in requests:
                    native.send(request)
            else:
                for request in requests:
                    native.send(request)
            native.close_send()
        except BaseException as e:  # noqa: BLE001 - raised to the reader instead
            self._failure = e
            native.cancel()

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> Message:
        if self._done:
            raise StopAsyncIteration
        native = await self._open()
        try:
            reply = await asyncio.get_running_loop().run_in_executor(None, native.recv)
        except asyncio.CancelledError:
            native.cancel()
            self._done = True
            raise
        except BaseException:
            self._done = True
            _raise_failure(self._failure)
            raise
        if reply is None:
            self._done = True
            _raise_failure(self._failure)
            raise StopAsyncIteration
        return reply

    async def send(self, request: Mapping[str, Any]) -> None:
        """Sends one request (a stream opened without requests)."""
        (await self._open()).send(request)

    async def close_send(self) -> None:
        """Half-closes: no more requests."""
        (await self._open()).close_send()

    def cancel(self) -> None:
        """Cancels the call."""
        self._done = True
        if self._native is not None:
            self._native.cancel()
        if self._feeder is not None:
            self._feeder.cancel()

    async def result(self) -> Message:
        """The one reply of a client-streaming call (read to the end); `Internal` when the
        server sent none or more than one."""
        native = await self._open()
        self._done = True
        try:
            reply = await asyncio.get_running_loop().run_in_executor(None, native.recv_only)
        except asyncio.CancelledError:
            native.cancel()
            raise
        finally:
            _raise_failure(self._failure)
        return reply

    @property
    def headers(self) -> Optional[Dict[str, str]]:
        return None if self._native is None else self._native.headers

    @property
    def trailers(self) -> Dict[str, str]:
        return {} if self._native is None else self._native.trailers

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._done:
            self.cancel()


def _requests(stream: _native.ServerStream) -> Iterator[Message]:
    while True:
        request = stream.recv()
        if request is None:
            return
        yield request


async def _requests_async(stream: _native.ServerStream) -> AsyncIterator[Message]:
    loop = asyncio.get_running_loop()
    while True:
        request = await loop.run_in_executor(None, stream.recv)
        if request is None:
            return
        yield request


def _replies(kind: str, replies: Any) -> Any:
    if isinstance(replies, Mapping):
        raise TypeError(f"a {kind} handler yields its replies (a generator or iterable), not one reply")
    return replies


def _send_all(replies: Iterable[Any], send: Callable[[Any], None]) -> None:
    """Sends every reply; a send that fails (the caller gone: ``Cancelled``) is thrown into a
    generator at its ``yield``, so the handler sees it there, then raised."""
    it = iter(replies)
    try:
        for reply in it:
            try:
                send(reply)
            except Error as e:
                if hasattr(it, "throw"):
                    try:
                        it.throw(e)
                    except Exception:  # noqa: BLE001 - the handler's own reaction; `e` is raised
                        pass
                raise
    finally:
        if hasattr(it, "close"):
            it.close()


async def _send_all_async(replies: Any, send: Callable[[Any], None]) -> None:
    """:func:`_send_all` for an async generator."""
    try:
        async for reply in replies:
            try:
                send(reply)
            except Error as e:
                try:
                    await replies.athrow(e)
                except Exception:  # noqa: BLE001 - the handler's own reaction; `e` is raised
                    pass
                raise
    finally:
        if hasattr(replies, "aclose"):
            await replies.aclose()


def sync_runner(kind: str, handler: Callable[..., Any]) -> Callable[[_native.ServerStream, _native.Context], None]:
    """Runs a plain streaming handler on the worker thread the core gives it: a generator (or a
    function returning an iterable) for server and bidi streams, a function of the requests'
    iterator returning one reply for client streams."""

    def run(stream: _native.ServerStream, ctx: _native.Context) -> None:
        if kind == "client_streaming":
            stream.send(handler(_requests(stream), ctx))
            return
        source = stream.recv_first() if kind == "server_streaming" else _requests(stream)
        _send_all(_replies(kind, handler(source, ctx)), stream.send)

    return run


def async_starter(
    kind: str, handler: Callable[..., Any], loop: Callable[[], asyncio.AbstractEventLoop]
) -> Callable[[_native.ServerStream, _native.Context, Callable[[bool, Any], None]], Callable[[], bool]]:
    """Schedules an ``async`` streaming handler (an async generator, or a coroutine of the
    requests' async iterator for client streams) on the server's loop; ``done`` gets its end."""

    async def run(stream: _native.ServerStream, ctx: _native.Context) -> None:
        if kind == "client_streaming":
            stream.send(await handler(_requests_async(stream), ctx))
            return
        if kind == "server_streaming":
            source: Any = await asyncio.get_running_loop().run_in_executor(None, stream.recv_first)
        else:
            source = _requests_async(stream)
        await _send_all_async(_replies(kind, handler(source, ctx)), stream.send)

    def start(stream: _native.ServerStream, ctx: _native.Context, done: Callable[[bool, Any], None]) -> Callable[[], bool]:
        future = asyncio.run_coroutine_threadsafe(run(stream, ctx), loop())

        def finished(f: "concurrent.futures.Future[None]") -> None:
            if f.cancelled():
                done(False, Cancelled("call cancelled or past its deadline"))
            elif f.exception() is not None:
                done(False, f.exception())
            else:
                done(True, None)

        future.add_done_callback(finished)
        return future.cancel

    return start


__all__: List[str] = ["AsyncStream", "Stream"]
