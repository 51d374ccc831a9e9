"""No data without a live credential: 401 with a GraphQL-shaped body, every time."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import httpx
import pytest
from sqlalchemy import select, update

from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from store.credentials import revoke_credential
from store.models import Credential
from store.types import utcnow
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token

QUERY = "{ households { totalCount } }"


def assert_unauthenticated(response: object) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer dibao_not-a-real-token",
        "Bearer x" * 300,
    ],
)
async def test_missing_or_unknown_token_is_401(api: Api, header: str | None) -> None:
    headers = {"authorization": header} if header else {}
    response = await api.client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert_unauthenticated(response)


async def test_valid_token_is_served(api: Api, runtime: Runtime) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    body = await api.gql(token, QUERY)
    assert body == {"data": {"households": {"totalCount": 0}}}


async def test_revoked_token_is_refused_within_a_second(api: Api, runtime: Runtime) -> None:
    """Revoked behind the server's back (the CLI, another process): the remembered
    credential row is read again within a second."""
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="revokee")
    assert (await api.post(token, QUERY)).status_code == 200
    async with runtime.sessions.begin() as session:
        credential = (
            await session.execute(
                Credential.__table__.select().where(Credential.principal == "revokee")
            )
        ).one()
        await revoke_credential(session, credential_id=credential.id, now=utcnow())
    revoked = time.monotonic()
    while (response := await api.post(token, QUERY)).status_code == 200:
        assert time.monotonic() - revoked < 1.0, "a revoked token was served after a second"
        await asyncio.sleep(0.02)
    assert_unauthenticated(response)


async def test_a_revocation_through_the_api_holds_on_the_next_request(
    api: Api, runtime: Runtime
) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="revokee")
    admin = await issue_token(runtime, "sysadmin", "*")
    assert (await api.post(token, QUERY)).status_code == 200
    async with runtime.sessions() as session:
        credential_id = await session.scalar(
            select(Credential.id).where(Credential.principal == "revokee")
        )
    done = await api.gql(
        admin,
        "mutation($id: ID!) { revokeCredential(id: $id) { revoked } }",
        {"id": credential_id},
    )
    assert done["data"]["revokeCredential"]["revoked"] is True
    assert_unauthenticated(await api.post(token, QUERY))


async def test_expired_token_is_refused(api: Api, runtime: Runtime) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="expiring")
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Credential)
            .where(Credential.principal == "expiring")
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert_unauthenticated(await api.post(token, QUERY))


async def test_tokens_are_stored_only_as_hashes(runtime: Runtime) -> None:
    token = await issue_token(runtime, "partner", "22")
    async with runtime.sessions() as session:
        rows = (await session.execute(Credential.__table__.select())).all()
    assert rows
    for row in rows:
        assert token.encode() not in b"".join(str(v).encode() for v in row)
        assert len(row.token_hash) == 32


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_get_queries_are_not_served(api: Api, runtime: Runtime) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    response = await api.client.get(
        "/graphql", params={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code in {400, 405}
    assert "totalCount" not in response.text


async def test_no_cross_origin_access_by_default(api: Api) -> None:
    preflight = await api.client.options(
        "/graphql",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await api.client.post("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_configured_origins_only(settings: Settings, runtime: Runtime) -> None:
    allowed = "https://dibao-console.example"
    app = create_app(dataclasses.replace(settings, cors_origins=(allowed,)), runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ok = await client.options(
            "/graphql", headers={"origin": allowed, "access-control-request-method": "POST"}
        )
        assert ok.headers["access-control-allow-origin"] == allowed
        other = await client.options(
            "/graphql",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
        assert "access-control-allow-origin" not in other.headers


async def test_a_valid_token_under_another_scheme_is_401(api: Api, runtime: Runtime) -> None:
    """Only `Bearer` carries a credential: the same token sent as `Basic` is refused."""
    token = await issue_token(runtime, "supervisor", "22")
    for scheme in ("Basic", "Token", "Digest"):
        response = await api.client.post(
            "/graphql", json={"query": QUERY}, headers={"authorization": f"{scheme} {token}"}
        )
        assert_unauthenticated(response)
    accepted = await api.client.post(
        "/graphql", json={"query": QUERY}, headers={"authorization": f"bearer {token}"}
    )
    assert accepted.status_code == 200
