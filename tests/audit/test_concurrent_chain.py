"""Two server processes writing at once still leave one gap-free, verifiable chain."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from audit.chain import AuditChain, verify
from audit.record import AuditRecord
from gateway.config import Settings
from gateway.runtime import Runtime
from store.types import utcnow
from tests.audit.test_audit_log import SUBMIT, entries
from tests.cli.test_cli import adibao
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions, member

# after the parallel run, alone: two servers' pools with another file's take most of
# PostgreSQL's 100 connections
pytestmark = pytest.mark.serial

REQUESTS_PER_SERVER = 40


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres_only
async def test_two_processes_one_chain(runtime: Runtime, settings: Settings) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
    }
    dibao = str(Path(sys.executable).parent / "dibao")
    ports = [_port(), _port()]
    servers = [
        subprocess.Popen(
            [dibao, "serve", "--port", str(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    headers = {"authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for port in ports:
                for _ in range(100):
                    try:
                        await client.get(f"http://127.0.0.1:{port}/healthz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)

            async def one(port: int, i: int) -> int:
                url = f"http://127.0.0.1:{port}/graphql"
                if i % 10 == 0:
                    body = {
                        "query": SUBMIT,
                        "variables": {"input": application(members=[member("HEAD")])},
                    }
                    response = await client.post(url, json=body, headers=headers)
                elif i % 7 == 0:
                    response = await client.post(url, json={"query": "{ __typename }"})  # 401
                else:
                    response = await client.post(
                        url, json={"query": "{ households { totalCount } }"}, headers=headers
                    )
                return response.status_code

            codes = await asyncio.gather(
                *(one(port, i) for i in range(REQUESTS_PER_SERVER) for port in ports)
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    assert sorted(set(codes)) == [200, 401]
    log = await entries(runtime)
    assert len(log) == 2 * REQUESTS_PER_SERVER
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    mutations = [e for e in log if e["operation_type"] == "mutation"]
    assert len(mutations) == 2 * (REQUESTS_PER_SERVER // 10)
    assert all(len(e["archive_nos"]) == 1 for e in mutations)
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr


async def test_an_append_behind_another_writers_starts_again_from_its_head(
    runtime: Runtime,
) -> None:
    """Two writers of one database (a server and a CLI command, say), each with the head
    it last saw: the one whose head moved under it writes after the other, on either
    backend (SQLite's UPDATE-then-INSERT, PostgreSQL's one statement)."""
    first, second = AuditChain(runtime.cipher), AuditChain(runtime.cipher)
    record = AuditRecord(
        time=utcnow(), client=None, trace_id=None, principal="x", outcome="allowed"
    )
    seqs = []
    for chain in (first, second, first, first, second):  # first's head is stale at its 2nd
        async with runtime.sessions.begin() as session:
            seqs.append(await chain.append(session, record.as_dict()))
    assert seqs == [1, 2, 3, 4, 5]
    log = await entries(runtime)
    assert [e["seq"] for e in log] == [1, 2, 3, 4, 5]
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok
