"""What reaches the server and is audited, exactly (README, "Audit and tracing"): a GET of
`/graphql` is one entry of type `ide`, GraphiQL or not; a HEAD is one `invalid` entry;
`/healthz`, `/readyz` and `/console` leave none. Through HTTP, on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token


@pytest.fixture
async def ide(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The service as `dibao serve --demo` runs it: GraphiQL served on GET."""
    runtime.settings = dataclasses.replace(runtime.settings, graphiql=True)
    app = create_app(runtime.settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_a_get_is_one_entry_of_type_ide(api: Api, runtime: Runtime) -> None:
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    before = len(await entries(runtime))
    response = await api.client.get(
        "/graphql", headers={"authorization": f"Bearer {worker}", "accept": "text/html"}
    )
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    [entry] = (await entries(runtime))[before:]
    assert entry["operation_type"] == "ide"
    assert (entry["outcome"], entry["http_status"]) == ("invalid", 405)


async def test_graphiql_when_enabled_is_one_entry_of_type_ide(
    ide: httpx.AsyncClient, runtime: Runtime
) -> None:
    before = len(await entries(runtime))
    response = await ide.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    [entry] = (await entries(runtime))[before:]
    assert entry["operation_type"] == "ide"
    assert entry["http_status"] == 200


async def test_head_is_refused_and_audited_once(api: Api, runtime: Runtime) -> None:
    before = len(await entries(runtime))
    response = await api.client.head("/graphql")
    assert response.status_code == 405 and "POST" in response.headers["allow"]
    [entry] = (await entries(runtime))[before:]
    assert (entry["outcome"], entry["error_codes"], entry["http_status"]) == (
        "invalid",
        ["BAD_USER_INPUT"],
        405,
    )


async def test_health_readiness_and_the_console_leave_no_entry(api: Api, runtime: Runtime) -> None:
    await api.client.post("/graphql", json={"query": "{ __typename }"})  # one, to count from
    before = len(await entries(runtime))
    assert before >= 1
    for path in ("/healthz", "/readyz", "/console", "/console/"):
        response = await api.client.get(path)
        assert response.status_code in {200, 308}, (path, response.status_code)
    assert len(await entries(runtime)) == before


async def test_a_cors_preflight_is_answered_and_not_audited(
    settings: Settings, runtime: Runtime
) -> None:
    origin = "https://console.example"
    app = create_app(dataclasses.replace(settings, cors_origins=(origin,)), runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.post("/graphql", json={"query": "{ __typename }"})  # one, to count from
            before = len(await entries(runtime))
            preflight = await client.options(
                "/graphql",
                headers={
                    "origin": origin,
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "authorization, content-type",
                },
            )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert len(await entries(runtime)) == before == 1
