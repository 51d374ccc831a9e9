"""`dibao serve --workers 2`: two processes on one socket keep one audit chain, and a
credential's rate limit holds in total across them (each worker counts 1/N)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token
from tests.serving import dibao_serve

# after the parallel run, alone: its server processes' pools with another file's take
# most of PostgreSQL's 100 connections
pytestmark = pytest.mark.serial

QUERY = {"query": "{ households { totalCount } }"}
BURST = 4


async def test_two_workers_keep_one_chain_and_one_limit(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        # refilled slower than the test runs: the burst is what a credential gets
        "DIBAO_RATE_LIMITS": f"default=0.01/{BURST}",
    }
    headers = {"authorization": f"Bearer {token}"}
    async with dibao_serve(env, tmp_path, ["--workers", "2"]) as base:

        async def one() -> int:
            # a connection of its own each: the kernel spreads them over both workers
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                return (await client.post("/graphql", json=QUERY, headers=headers)).status_code

        codes = await asyncio.gather(*(one() for _ in range(24)))
    assert set(codes) <= {200, 429}
    assert 1 <= codes.count(200) <= BURST  # per worker BURST / 2: never more in total
    log = await entries(runtime)
    assert len(log) == len(codes)  # one entry per request, from either process
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
