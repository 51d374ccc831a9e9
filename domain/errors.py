"""Errors raised by rules and services, each with the GraphQL error code it maps to.

The gateway turns these into `extensions.code`; their messages are written for
the caller and must never contain a personal value (an ID number, a name).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The caller sent something that can never be accepted as it is."""

    code = "BAD_USER_INPUT"


class Conflict(DomainError):
    """The request is well formed but clashes with the current state."""

    code = "CONFLICT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class QuotaExceeded(DomainError):
    """A per-principal allowance is used up until `retry_after` seconds from now."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = max(1, retry_after)


class ExportExpired(DomainError):
    """The export's file is past its keeping time (DIBAO_EXPORT_KEEP_DAYS): gone, or
    about to be; asked for again, it is written anew."""

    code = "EXPORT_EXPIRED"


class FileDamaged(DomainError):
    """A stored file does not open under its tags or is not the bytes its register
    names: refused whole, never served in part."""

    code = "FILE_DAMAGED"
