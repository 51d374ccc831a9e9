"""Content negotiation as the GraphQL-over-HTTP spec describes it.

A client that accepts `application/graphql-response+json` gets it, with the
spec's status rules: a request that never reached execution (a document that
does not parse, validate or coerce its variables; no credential; over a limit)
is a 4xx without a `data` entry, so the status alone tells a request error from
an execution error. Everyone else gets `application/json` exactly as before:
existing clients and tools see no change.

Authentication, rate limits, FORBIDDEN and the audit entry do not depend on the
media type: the status is decided before the entry is written, and this module
only reshapes the body afterwards.
"""

from __future__ import annotations

import enum
from typing import Any

import orjson
from starlette.responses import Response

GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json"
JSON_TYPE = "application/json"
# the codes of errors raised before execution began, when no error has a path: the
# document or its variables are at fault (see schema.errors.error_code)
REQUEST_ERROR_CODES = frozenset({"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"})
MAX_ACCEPT = 1024  # a longer Accept header is read as far as this: it names two types


class Media(enum.Enum):
    JSON = JSON_TYPE
    GRAPHQL_RESPONSE = GRAPHQL_RESPONSE_TYPE


def negotiate(accept: str | None) -> Media:
    """The response media type for an Accept header.

    `application/graphql-response+json` when the client accepts it at least as
    much as `application/json` (the spec's clients list it first); otherwise, and
    for no header or only wildcards, `application/json`: the legacy default the
    spec keeps for clients that predate the new type."""
    if not accept:
        return Media.JSON
    weights: dict[str, float] = {}
    for part in accept[:MAX_ACCEPT].split(","):
        kind, _, params = part.partition(";")
        kind = kind.strip().lower()
        if kind not in (GRAPHQL_RESPONSE_TYPE, JSON_TYPE):
            continue
        weights[kind] = max(weights.get(kind, 0.0), _quality(params))
    wanted = weights.get(GRAPHQL_RESPONSE_TYPE, 0.0)
    if wanted > 0 and wanted >= weights.get(JSON_TYPE, 0.0):
        return Media.GRAPHQL_RESPONSE
    return Media.JSON


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0  # a malformed weight accepts nothing rather than everything
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def is_request_error(data: object, errors: list[dict[str, Any]]) -> bool:
    """No data and only errors of the document itself, none from a field: execution
    never began (parse, validation, variable coercion, argument bounds)."""
    return data is None and bool(errors) and all(_before_execution(e) for e in errors)


def _before_execution(error: dict[str, Any]) -> bool:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return "path" not in error and code in REQUEST_ERROR_CODES


def shape(response: Response, media: Media) -> Response:
    """The response in the negotiated media type; JSON answers stay as they are."""
    if media is Media.JSON or response.media_type != JSON_TYPE:
        return response  # the GraphiQL page is HTML whatever was asked
    content_type = f"{GRAPHQL_RESPONSE_TYPE}; charset=utf-8"
    if response.status_code < 400:
        response.headers["content-type"] = content_type  # the body is the same
        return response
    # a request error: the spec's response carries no `data` entry at all
    body = orjson.loads(response.body)
    if isinstance(body, dict):
        body.pop("data", None)
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return Response(
        orjson.dumps(body),
        status_code=response.status_code,
        headers=headers,
        media_type=content_type,
    )
