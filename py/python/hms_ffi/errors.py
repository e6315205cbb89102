"""The error model: one exception class per gRPC code under :class:`Error`."""

from __future__ import annotations

import enum
from typing import Any, Dict, List, Optional, Tuple, Type


class Code(enum.IntEnum):
    """gRPC-canonical status codes."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class Error(Exception):
    """Base of every hms-ffi error.

    ``code`` is a :class:`Code`, ``message`` the text, ``details`` a dict with
    ``field_violations`` (list of ``{"field", "description"}``), ``error_info``,
    ``debug_info`` and ``origin``. Raise a subclass (``raise NotFound("no user 7")``) from a
    handler to send that code to the caller, in any language.
    """

    _hms_ffi_error = True
    code: Code = Code.UNKNOWN

    def __init__(
        self,
        message: str = "",
        details: Optional[Dict[str, Any]] = None,
        *,
        code: Optional[int] = None,
        field_violations: Optional[List[Tuple[str, str]]] = None,
        reason: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = Code(code)
        self.message = message
        self.details: Dict[str, Any] = details or {}
        if field_violations is None:
            field_violations = [
                (v["field"], v["description"]) for v in self.details.get("field_violations") or []
            ]
        self.field_violations: List[Tuple[str, str]] = [(str(f), str(d)) for f, d in field_violations]
        info = self.details.get("error_info") or {}
        self.reason: Optional[str] = reason if reason is not None else info.get("reason")
        self.origin: Optional[Dict[str, str]] = self.details.get("origin")

    @property
    def headers(self) -> Dict[str, str]:
        """The response headers that came with this error (first value of each key)."""
        return dict(self.details.get("headers") or {})

    @property
    def trailers(self) -> Dict[str, str]:
        """The response trailers that came with this error (first value of each key)."""
        return dict(self.details.get("trailers") or {})

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def _wire_parts(self) -> Tuple[int, str, Dict[str, Any]]:
        """What the extension reads off this error when a handler raises it: code, message and
        the details dict with this error's own field violations and reason. The core decides
        what they become (code OK, for one, is refused)."""
        details = dict(self.details)
        details["field_violations"] = [
            {"field": f, "description": d} for f, d in self.field_violations
        ]
        if self.reason:
            details["error_info"] = {**(details.get("error_info") or {}), "reason": self.reason}
        return int(self.code), str(self.message), details


class Cancelled(Error):
    """The call was cancelled."""

    code = Code.CANCELLED


class Unknown(Error):
    """An error of unknown kind."""

    code = Code.UNKNOWN


class InvalidArgument(Error, ValueError):
    """A bad request: wrong type, out-of-range number, unknown field, bad enum name."""

    code = Code.INVALID_ARGUMENT


class DeadlineExceeded(Error):
    """The deadline passed before the call finished."""

    code = Code.DEADLINE_EXCEEDED


class NotFound(Error):
    """Something requested was not found."""

    code = Code.NOT_FOUND


class AlreadyExists(Error):
    """Something to create exists already."""

    code = Code.ALREADY_EXISTS


class PermissionDenied(Error):
    """The caller may not do this."""

    code = Code.PERMISSION_DENIED


class ResourceExhausted(Error):
    """A limit was hit: message size, concurrency, nesting depth, rate."""

    code = Code.RESOURCE_EXHAUSTED


class FailedPrecondition(Error):
    """The system is not in a state the operation needs."""

    code = Code.FAILED_PRECONDITION


class Aborted(Error):
    """The operation was aborted (e.g. a concurrency conflict)."""

    code = Code.ABORTED


class OutOfRange(Error):
    """The operation went past the valid range."""

    code = Code.OUT_OF_RANGE


class Unimplemented(Error):
    """The method is not implemented or not served."""

    code = Code.UNIMPLEMENTED


class Internal(Error):
    """An internal error, or an unexpected exception in a handler (see ``details``)."""

    code = Code.INTERNAL


class Unavailable(Error):
    """The service is unavailable: not listening, connection lost, shutting down."""

    code = Code.UNAVAILABLE


class DataLoss(Error):
    """Unrecoverable data loss."""

    code = Code.DATA_LOSS


class Unauthenticated(Error):
    """Missing or invalid credentials."""

    code = Code.UNAUTHENTICATED


ERROR_CLASSES: Dict[int, Type[Error]] = {cls.code.value: cls for cls in Error.__subclasses__()}
ERROR_CLASSES[Code.OK.value] = Error
