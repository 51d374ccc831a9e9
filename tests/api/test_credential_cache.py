"""Credentials are remembered in process, yet a revocation holds in every server
within a second: here one revoked through a server's API is refused by another
server process that kept serving the token until then."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import Credential
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token
from tests.serving import dibao_serve

QUERY = {"query": "{ households { totalCount } }"}
REVOKE = "mutation($id: ID!) { revokeCredential(id: $id) { revoked } }"


async def test_a_revoked_token_is_refused_by_another_process_within_a_second(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="revokee")
    admin = await issue_token(runtime, "sysadmin", "*")
    async with runtime.sessions() as session:
        credential_id = await session.scalar(
            select(Credential.id).where(Credential.principal == "revokee")
        )
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "DIBAO_RATE_LIMITS": "default=1000000/1000000",
    }
    headers = {"authorization": f"Bearer {token}"}
    async with (
        dibao_serve(env, tmp_path) as other,
        httpx.AsyncClient(base_url=other, timeout=5) as client,
    ):
        # the other server has read the credential and is serving it from memory
        for _ in range(3):
            assert (await client.post("/graphql", json=QUERY, headers=headers)).status_code == 200
        done = await api.gql(admin, REVOKE, {"id": credential_id})
        assert done["data"]["revokeCredential"]["revoked"] is True
        revoked = time.monotonic()
        while (
            response := await client.post("/graphql", json=QUERY, headers=headers)
        ).status_code == 200:
            assert time.monotonic() - revoked < 1.0, "served a revoked token after a second"
            await asyncio.sleep(0.02)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
