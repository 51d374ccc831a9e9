"""Every branch of the request pipeline that ends a request leaves exactly one entry.

The pipeline (gateway/endpoint.py) has many exits: each credential check, the
rate limit, each way a body can be wrong, trusted-document refusals, the policy
gate, and exceptions that escape the handler. Each exit is driven here once
through the public HTTP API, and the audit log must then hold exactly one new
entry saying how that request ended. A branch that stops writing its entry
fails its own case.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from audit.chain import verify
from gateway.app import create_app
from gateway.config import Settings
from gateway.ratelimit import Rate
from gateway.runtime import Runtime
from store.models import Credential
from store.types import utcnow
from tests.audit.test_audit_log import entries
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions

QUERY = {"query": "{ households(first: 1) { totalCount } }"}
PRINCIPAL = "pipeline-cw"


@dataclasses.dataclass
class Pipeline:
    client: httpx.AsyncClient
    runtime: Runtime
    token: str

    async def post(self, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return await self.client.post("/graphql", headers=headers, **kwargs)

    async def credential(self, **values: Any) -> None:
        """Change the caller's credential row as `dibao token` would have issued it."""
        async with self.runtime.sessions.begin() as session:
            await session.execute(
                update(Credential).where(Credential.principal == PRINCIPAL).values(**values)
            )


@pytest.fixture
async def pipeline(settings: Settings, runtime: Runtime) -> AsyncIterator[Pipeline]:
    # caseworkers may send two requests at once, then one a minute: the rate-limit
    # branch is reachable in two calls and the other branches stay under it
    limited = dataclasses.replace(
        settings, rate_limits={"caseworker": Rate(1 / 60, 2), "default": Rate(1000, 1000)}
    )
    runtime.settings = limited
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal=PRINCIPAL)
    app = create_app(limited, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Pipeline(client, runtime, token)


async def _no_token(p: Pipeline) -> httpx.Response:
    return await p.client.post("/graphql", json=QUERY)


async def _malformed_header(p: Pipeline) -> httpx.Response:
    return await p.client.post("/graphql", json=QUERY, headers={"authorization": "Basic abc"})


async def _unknown_token(p: Pipeline) -> httpx.Response:
    return await p.post(json=QUERY, headers={"authorization": "Bearer dibao_not_a_token"})


async def _expired(p: Pipeline) -> httpx.Response:
    await p.credential(expires_at=utcnow() - dt.timedelta(seconds=1))
    return await p.post(json=QUERY)


async def _revoked(p: Pipeline) -> httpx.Response:
    await p.credential(revoked_at=utcnow())
    return await p.post(json=QUERY)


async def _certificate_missing(p: Pipeline) -> httpx.Response:
    # bound to a client certificate, presented over a connection without one
    await p.credential(cert_fingerprint="ab" * 32)
    return await p.post(json=QUERY)


async def _rate_limited(p: Pipeline) -> httpx.Response:
    await p.post(json=QUERY)
    await p.post(json=QUERY)
    return await p.post(json=QUERY)


async def _too_large(p: Pipeline) -> httpx.Response:
    return await p.post(json={"query": "{ __typename }", "variables": {"x": "a" * 300_000}})


async def _not_json_content_type(p: Pipeline) -> httpx.Response:
    return await p.post(content=b"{ __typename }", headers={"content-type": "text/plain"})


async def _not_json(p: Pipeline) -> httpx.Response:
    return await p.post(content=b"{", headers={"content-type": "application/json"})


async def _batched(p: Pipeline) -> httpx.Response:
    return await p.post(json=[QUERY, QUERY])


async def _unapproved_document_id(p: Pipeline) -> httpx.Response:
    return await p.post(json={"documentId": "sha256:" + "0" * 64})


async def _document_bound_credential(p: Pipeline) -> httpx.Response:
    await p.credential(documents=["sha256:" + "1" * 64])
    return await p.post(json=QUERY)


async def _denied_field(p: Pipeline) -> httpx.Response:
    return await p.post(json={"query": "{ credentials { id } }"})


async def _syntax_error(p: Pipeline) -> httpx.Response:
    return await p.post(json={"query": "{ households { "})


async def _get_without_ide(p: Pipeline) -> httpx.Response:
    return await p.client.get("/graphql", headers={"authorization": f"Bearer {p.token}"})


async def _escapes_the_handler(p: Pipeline) -> httpx.Response:
    # a fault the handler does not expect, raised after authentication
    with pytest.MonkeyPatch.context() as patch:

        def broken(*_: Any, **__: Any) -> Any:
            raise RuntimeError("injected fault")

        patch.setattr("gateway.endpoint.parse_request", broken)
        return await p.post(json=QUERY)


async def _escapes_before_authentication(p: Pipeline) -> httpx.Response:
    with pytest.MonkeyPatch.context() as patch:

        async def broken(*_: Any, **__: Any) -> Any:
            raise RuntimeError("injected fault")

        patch.setattr("gateway.endpoint.authenticate", broken)
        return await p.post(json=QUERY)


async def _database_unreachable(p: Pipeline) -> httpx.Response:
    # the connection refused mid-request: 503 with a retry-after, not an internal error
    with pytest.MonkeyPatch.context() as patch:

        def refused(*_: Any, **__: Any) -> Any:
            raise ConnectionRefusedError("injected fault")

        patch.setattr("gateway.endpoint.parse_request", refused)
        response = await p.post(json=QUERY)
    assert response.headers["retry-after"] == "5"
    return response


async def _allowed(p: Pipeline) -> httpx.Response:
    return await p.post(json=QUERY)


Exit = Callable[[Pipeline], Awaitable[httpx.Response]]
# (how the request ends, HTTP status, outcome, error code, principal known)
EXITS: list[tuple[Exit, int, str, str | None, bool]] = [
    (_allowed, 200, "allowed", None, True),
    (_no_token, 401, "unauthenticated", "UNAUTHENTICATED", False),
    (_malformed_header, 401, "unauthenticated", "UNAUTHENTICATED", False),
    (_unknown_token, 401, "unauthenticated", "UNAUTHENTICATED", False),
    (_expired, 401, "unauthenticated", "UNAUTHENTICATED", False),
    (_revoked, 401, "unauthenticated", "UNAUTHENTICATED", False),
    (_certificate_missing, 401, "unauthenticated", "UNAUTHENTICATED", False),
    (_rate_limited, 429, "rate_limited", "RATE_LIMITED", True),
    (_too_large, 413, "invalid", "BAD_USER_INPUT", True),
    (_not_json_content_type, 415, "invalid", "BAD_USER_INPUT", True),
    (_not_json, 400, "invalid", "BAD_USER_INPUT", True),
    (_batched, 400, "invalid", "BAD_USER_INPUT", True),
    (_unapproved_document_id, 200, "denied", "FORBIDDEN", True),
    (_document_bound_credential, 200, "denied", "FORBIDDEN", True),
    (_denied_field, 200, "denied", "FORBIDDEN", True),
    (_syntax_error, 200, "invalid", "BAD_USER_INPUT", True),
    (_get_without_ide, 405, "invalid", "BAD_USER_INPUT", False),
    (_escapes_the_handler, 500, "failed", "INTERNAL", True),
    (_escapes_before_authentication, 500, "failed", "INTERNAL", False),
    (_database_unreachable, 503, "failed", "UNAVAILABLE", True),
]


LOGGED: dict[Exit, str] = {
    _escapes_the_handler: "request failed before it could be answered",
    _escapes_before_authentication: "request failed before it could be answered",
    _database_unreachable: "database unavailable (ConnectionRefusedError)",
}


@pytest.mark.parametrize(
    ("exit_", "status", "outcome", "code", "known"),
    EXITS,
    ids=[e[0].__name__.lstrip("_") for e in EXITS],
)
async def test_each_exit_leaves_exactly_one_entry(
    pipeline: Pipeline,
    exit_: Exit,
    status: int,
    outcome: str,
    code: str | None,
    known: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = len(await entries(pipeline.runtime))
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="dibao.gateway"):
        response = await exit_(pipeline)
    elapsed_ms = (time.perf_counter() - started) * 1000
    # a failure is told to the operator in the log, by its kind and without its text
    told = [r.getMessage() for r in caplog.records if r.name == "dibao.gateway"]
    if exit_ in LOGGED:
        assert any(LOGGED[exit_] in message for message in told), told
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["errors"][0]["extensions"]["code"] == code
        assert "injected fault" not in response.text and "Traceback" not in response.text

    log = await entries(pipeline.runtime)
    new = log[before:]
    # the rate-limit exit needs two allowed requests first: each has its own entry too
    assert len(new) == (3 if exit_ is _rate_limited else 1), new
    last = new[-1]
    assert last["outcome"] == outcome
    assert last["http_status"] == status
    assert last["error_codes"] == ([code] if code else [])
    assert (last["principal"] == PRINCIPAL) is known
    # the time the request took, as the server measured it: within what the client saw
    assert 0 <= last["duration_ms"] <= elapsed_ms
    async with pipeline.runtime.sessions() as session:
        assert (await verify(session, pipeline.runtime.cipher.keys)).ok


async def test_the_entry_records_the_request_duration_in_milliseconds(pipeline: Pipeline) -> None:
    """The pipeline's own clock, read where the request starts and where its entry is
    written: a quarter of a second and a little more between them is 250.123 ms in the
    entry, kept to three decimals (the microsecond)."""
    # later readings (the audit append's and the metrics' own timing) see no time pass
    readings = itertools.chain([100.0, 100.2501234], itertools.repeat(100.2501234))
    clock = types.SimpleNamespace(perf_counter=lambda: next(readings))
    before = len(await entries(pipeline.runtime))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("gateway.endpoint.time", clock)
        response = await pipeline.post(json=QUERY)
    assert response.status_code == 200, response.text
    [entry] = (await entries(pipeline.runtime))[before:]
    assert entry["duration_ms"] == 250.123
