"""Custom domain types: converters between a protobuf message type (or a ``string`` field's
declared format) and a Python type, applied by the core on both sides of every call — requests
and replies, caller and handler — and used by the generated types (``docs/converters.md``).

Four are built in and on by default (:data:`BUILTINS`):

=========================  ===========================================================
``google.type.Decimal``    :class:`decimal.Decimal`
``google.type.Money``      :class:`Money` (a ``Decimal`` amount and a currency code)
``google.type.Date``       :class:`datetime.date` (full dates; partial ones are refused)
format ``"uuid"``          :class:`uuid.UUID`, for ``string id = 1 [(hms.ffi.v1.format) = "uuid"]``
=========================  ===========================================================

A built-in still accepts the message's dict form when sending. Pass ``converters=[]`` to
``connect``/``Server`` to get dicts (and text) back, or add your own::

    point = hms_ffi.Converter(message="geo.v1.Point",
                              to_message=lambda p: {"lat": p.lat, "lng": p.lng},
                              from_message=lambda d: Point(d["lat"], d["lng"]))
    client = hms_ffi.connect(uri, converters=[*hms_ffi.BUILTINS, point])

A converter that raises is ``InvalidArgument`` with the value's path in the error's field
violations (``items[2].price: converter for google.type.Decimal failed: InvalidOperation: …``);
for a handler's reply it is ``Internal``, as any reply that does not fit its type.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

_NANOS = decimal.Decimal(10) ** 9


@dataclass(frozen=True)
class Converter:
    """Converts values of a message type (``message="google.type.Decimal"``, by full name) or of
    ``string`` fields declared with a format (``format="uuid"``): ``to_message(native)`` returns
    the message's dict (or the field's text), ``from_message(value)`` the native value. A later
    converter for the same target replaces an earlier one. Converters should be pure: one may
    be called again for a value when the core re-walks a message to locate an error."""

    to_message: Callable[[Any], Any]
    from_message: Callable[[Any], Any]
    message: Optional[str] = None
    format: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.message is None) == (self.format is None):
            raise ValueError("a Converter targets one message type or one format")


@dataclass(frozen=True)
class Money:
    """An amount of money: ``google.type.Money`` with the amount as one exact ``Decimal``
    (units and nanos, up to nine decimal places) and its ISO 4217 currency code."""

    amount: decimal.Decimal
    currency: str


def _decimal_to(v: Any) -> Any:
    if isinstance(v, dict):
        return v
    if isinstance(v, bool) or not isinstance(v, (decimal.Decimal, int)):
        raise TypeError(f"expected decimal.Decimal, got {type(v).__name__}")
    d = decimal.Decimal(v)
    if not d.is_finite():
        raise ValueError(f"{d} is not a finite decimal")
    return {"value": str(d)}


def _decimal_from(m: Dict[str, Any]) -> decimal.Decimal:
    return decimal.Decimal(m["value"] or "0")


def _money_to(v: Any) -> Any:
    if isinstance(v, dict):
        return v
    if not isinstance(v, Money):
        raise TypeError(f"expected hms_ffi.Money, got {type(v).__name__}")
    amount = decimal.Decimal(v.amount)
    if not amount.is_finite():
        raise ValueError(f"{amount} is not a finite amount")
    units = int(amount)  # toward zero, so units and nanos share the sign
    nanos = (amount - units) * _NANOS
    if nanos != nanos.to_integral_value():
        raise ValueError(f"{amount} has more than nine decimal places")
    return {"currency_code": v.currency, "units": units, "nanos": int(nanos)}


def _money_from(m: Dict[str, Any]) -> Money:
    amount = decimal.Decimal(m["units"]) + decimal.Decimal(m["nanos"]) / _NANOS
    return Money(amount, m["currency_code"])


def _date_to(v: Any) -> Any:
    if isinstance(v, dict):
        return v
    if isinstance(v, datetime.datetime) or not isinstance(v, datetime.date):
        raise TypeError(f"expected datetime.date, got {type(v).__name__}")
    return {"year": v.year, "month": v.month, "day": v.day}


def _date_from(m: Dict[str, Any]) -> datetime.date:
    return datetime.date(m["year"], m["month"], m["day"])


def _uuid_to(v: Any) -> str:
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, str):
        return str(uuid.UUID(v))
    raise TypeError(f"expected uuid.UUID, got {type(v).__name__}")


def _uuid_from(text: str) -> uuid.UUID:
    return uuid.UUID(text)


DECIMAL = Converter(message="google.type.Decimal", to_message=_decimal_to, from_message=_decimal_from)
MONEY = Converter(message="google.type.Money", to_message=_money_to, from_message=_money_from)
DATE = Converter(message="google.type.Date", to_message=_date_to, from_message=_date_from)
UUID = Converter(format="uuid", to_message=_uuid_to, from_message=_uuid_from)

#: The built-in converters, on by default in ``connect`` and ``Server``.
BUILTINS: Tuple[Converter, ...] = (DECIMAL, MONEY, DATE, UUID)


def _native(converters: Iterable[Converter]) -> List[Tuple[str, str, Any, Any]]:
    """The converters as the native module takes them."""
    out = []
    for c in converters:
        if not isinstance(c, Converter):
            raise TypeError(f"expected hms_ffi.Converter, got {type(c).__name__}")
        kind, name = ("message", c.message) if c.message is not None else ("format", c.format)
        out.append((kind, str(name), c.to_message, c.from_message))
    return out
