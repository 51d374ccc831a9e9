"""GraphQL-shaped errors with `extensions.code`; nothing unexpected leaks to the caller.

Coded errors raised by the domain pass through with their message. Anything
else becomes `INTERNAL` with a fixed message: no stack trace, SQL, key, or value.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from domain.errors import DomainError, QuotaExceeded

CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "QUERY_TOO_COMPLEX",
        "RATE_LIMITED",
        "UNAVAILABLE",
    }
)
INTERNAL_MESSAGE = "Internal error. The request was not completed."


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code
    code = (error.extensions or {}).get("code")
    if isinstance(code, str) and code in CODES:
        return code  # raised by the gateway itself (FORBIDDEN, QUERY_TOO_COMPLEX)
    if not error.path and (original is None or isinstance(original, GraphQLError)):
        if isinstance(error, GraphQLSyntaxError) and "tokens" in error.message:
            return "QUERY_TOO_COMPLEX"  # graphql-core's max_tokens guard stopped the parser
        return "BAD_USER_INPUT"  # parse, validation or variable coercion: the document is at fault
    return "INTERNAL"


def format_error(error: GraphQLError) -> dict[str, Any]:
    code = error_code(error)
    original = error.original_error
    extensions: dict[str, Any] = {"code": code}
    if isinstance(original, DomainError):
        message = original.message
        if original.field:
            extensions["field"] = original.field
        if isinstance(original, QuotaExceeded):
            # the endpoint answers 429 with this as Retry-After, as for the rate limits
            extensions["retryAfter"] = original.retry_after
    elif code == "INTERNAL":
        message = INTERNAL_MESSAGE
    else:
        message = error.message
        extensions.update({k: v for k, v in (error.extensions or {}).items() if k != "code"})
        if code == "QUERY_TOO_COMPLEX" and isinstance(error, GraphQLSyntaxError):
            extensions["limit"] = "tokens"
    formatted: dict[str, Any] = {"message": message, "extensions": extensions}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if (error.path and code != "INTERNAL") or error.path:
        formatted["path"] = list(error.path)
    return formatted


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
