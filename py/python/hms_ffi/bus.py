"""Publish/subscribe with typed topics: ``Bus(schema)`` in one process, ``Bus.connect("nats://…")``
between processes and machines, ``Bus.connect("nats://…/PREFIX?jetstream=STREAM")`` for durable,
acknowledged events (the core's bus; docs/messaging.md).

>>> import hms_ffi
>>> schema = hms_ffi.Schema.from_source("shop.proto", '''
...     syntax = "proto3"; package shop.v1;
...     message OrderPlaced { string id = 1; int64 cents = 2; }''')
>>> bus = hms_ffi.Bus(schema)
>>> bus.declare("orders.>", "shop.v1.OrderPlaced")
>>> with bus.subscribe("orders.*") as sub:
...     bus.publish("orders.eu", {"id": "A1", "cents": 250})
...     sub.next(timeout=5)
('orders.eu', {'id': 'A1', 'cents': 250})
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, Mapping, Optional, Tuple, Union

from . import _native
from ._native import Delivery, Schema
from .converters import BUILTINS, Converter
from .converters import _native as _converters
from .errors import Error

Event = Tuple[str, Dict[str, Any]]


class Subscription:
    """Events on a topic pattern: ``next(timeout)``, ``for topic, message in sub``, or
    ``async for topic, message in sub``. An event that fails its type's check raises its typed
    error (``hms_ffi.InvalidArgument``…) from ``next``; the subscription goes on."""

    def __init__(self, native: _native.BusSubscription) -> None:
        self._native = native
        self._thread: Optional[threading.Thread] = None

    def next(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next ``(topic, message)``, or ``None`` after ``timeout`` seconds or once closed."""
        return self._native.next(timeout)

    @property
    def dropped(self) -> int:
        """Events dropped because this subscription's queue was full (a slow consumer)."""
        return self._native.dropped()

    def close(self) -> None:
        """Unsubscribes; a callback's thread ends."""
        self._native.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __iter__(self) -> Iterator[Event]:
        while (event := self._native.next(None)) is not None:
            yield event

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await asyncio.to_thread(self._native.next, None)) is not None:
            yield event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, callback: Callable[[str, Dict[str, Any]], object]) -> None:
        self._thread = threading.Thread(target=self._deliver, args=(callback,), daemon=True, name="hms-ffi-bus")
        self._thread.start()

    def _deliver(self, callback: Callable[[str, Dict[str, Any]], object]) -> None:
        while True:
            try:
                event = self._native.next(None)
            except Error:
                continue  # an event that fails its type's check: the next one may not
            if event is None:
                return
            callback(*event)


class DurableSubscription:
    """Deliveries of a JetStream consumer: ``next(timeout)``, ``for d in sub``, or
    ``async for d in sub``; each :class:`Delivery` has ``topic``, ``message``, ``sequence``,
    ``delivered`` and is answered with ``ack()``, ``nak(delay=None)``, ``term()`` or
    ``in_progress()``. Unanswered, it comes again after ``ack_wait``. An event that fails its
    type's check raises its typed error from ``next`` and is never delivered again."""

    def __init__(self, native: _native.DurableSubscription) -> None:
        self._native = native

    def next(self, timeout: Optional[float] = None) -> Optional[Delivery]:
        """The next delivery, or ``None`` after ``timeout`` seconds or once closed."""
        return self._native.next(timeout)

    def close(self) -> None:
        """Stops reading; what was not acknowledged comes again to the consumer's other readers."""
        self._native.close()

    def __iter__(self) -> Iterator[Delivery]:
        while (d := self._native.next(None)) is not None:
            yield d

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        while (d := await asyncio.to_thread(self._native.next, None)) is not None:
            yield d

    def __enter__(self) -> DurableSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus:
    """A publish/subscribe bus whose topics are typed by messages of a schema. ``converters``
    map message types and declared formats to Python types in the events it publishes and
    receives, durable deliveries included, as ``connect`` does for calls
    (:mod:`hms_ffi.converters`; the built-ins by default, ``[]`` for none). A converter that
    raises is :class:`hms_ffi.InvalidArgument` with the value's path, from ``publish`` or from
    the ``next`` that meets the event; the subscription goes on."""

    def __init__(
        self,
        schema: Schema,
        *,
        converters: Iterable[Converter] = BUILTINS,
        _native_bus: Optional[_native.Bus] = None,
    ) -> None:
        self._native = _native_bus if _native_bus is not None else _native.Bus(schema, _converters(converters))

    @classmethod
    def connect(cls, uri: str, schema: Schema, *, converters: Iterable[Converter] = BUILTINS) -> Bus:
        """A bus over NATS: ``nats://host:port/PREFIX`` (events on ``PREFIX.TOPIC``). With
        ``?jetstream=STREAM``, every event published is stored in that JetStream stream (created
        when absent) before ``publish`` returns, and ``subscribe_durable`` reads it."""
        return cls(schema, _native_bus=_native.Bus.connect(uri, schema, _converters(converters)))

    def declare(self, pattern: str, message_type: str) -> None:
        """Events on topics matching ``pattern`` (``*`` one token, ``>`` the rest) are
        ``message_type`` messages (a full name from the schema)."""
        self._native.declare(pattern, message_type)

    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Publishes ``message`` on ``topic``, checked against the topic's declared type."""
        self._native.publish(topic, message)

    def subscribe(
        self,
        pattern: str,
        callback: Optional[Callable[[str, Dict[str, Any]], object]] = None,
        *,
        queue: Optional[str] = None,
        pending: Optional[int] = None,
    ) -> Subscription:
        """Subscribes to ``pattern``; with ``queue``, shares the events with the queue group's
        other members. With ``callback``, a thread of the subscription calls
        ``callback(topic, message)`` for each event until ``close()``."""
        sub = Subscription(self._native.subscribe(pattern, queue, pending))
        if callback is not None:
            sub._run(callback)
        return sub

    def subscribe_durable(
        self,
        pattern: str,
        name: Optional[str] = None,
        *,
        deliver: Union[str, int, datetime, None] = None,
        ack_wait: float = 30.0,
        max_deliver: Optional[int] = None,
        batch: int = 64,
    ) -> DurableSubscription:
        """Reads ``pattern`` through the JetStream consumer ``name``, created on first use and
        resumed afterwards by any process (readers of one name share its events); ``None`` is an
        ephemeral consumer (a replay). ``deliver`` is where a new consumer starts: ``"all"``
        (default), ``"new"``, ``"last"``, a stream sequence, or a ``datetime``. An event not
        acknowledged within ``ack_wait`` seconds comes again, at most ``max_deliver`` times."""
        return DurableSubscription(self._native.subscribe_durable(pattern, name, deliver, ack_wait, max_deliver, batch))
