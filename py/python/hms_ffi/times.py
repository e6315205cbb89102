"""``datetime``/``timedelta`` subclasses that keep protobuf's nanoseconds.

Replies carry a plain ``datetime``/``timedelta`` unless the value has nanoseconds beyond the
microsecond; then they carry a :class:`Timestamp`/:class:`Duration`, which *is* a
``datetime``/``timedelta`` with the rest in ``nanosecond``/``nanoseconds`` (0..999). Sending one
back keeps every nanosecond. Arithmetic on them returns plain Python types (the extra
nanoseconds are dropped), as with any subclass.
"""

from __future__ import annotations

import datetime as _dt


class Timestamp(_dt.datetime):
    """A ``datetime`` with ``nanosecond`` (0..999) beyond ``microsecond``."""

    nanosecond: int = 0

    @classmethod
    def _from_datetime(cls, value: _dt.datetime, nanosecond: int) -> "Timestamp":
        t = cls(
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, value.tzinfo
        )
        t.nanosecond = nanosecond
        return t

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, nanosecond={self.nanosecond})"

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        if timespec != "auto":
            return super().isoformat(sep, timespec)
        text = super().isoformat(sep, "microseconds")
        head, tail = text[:26], text[26:]
        return f"{head}{self.nanosecond:03d}{tail}"


class Duration(_dt.timedelta):
    """A ``timedelta`` with ``nanoseconds`` (0..999) beyond its microseconds."""

    nanoseconds: int = 0

    @classmethod
    def _from_timedelta(cls, value: _dt.timedelta, nanoseconds: int) -> "Duration":
        d = cls(value.days, value.seconds, value.microseconds)
        d.nanoseconds = nanoseconds
        return d

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, nanoseconds={self.nanoseconds})"
