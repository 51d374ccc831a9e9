"""`dibao serve` believes X-Forwarded-For only from proxies it is told to trust: a
client that rotates the header neither escapes the per-address anonymous limit
nor chooses the address its audit entries name."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from gateway.config import Settings
from tests.cli.test_cli import adibao
from tests.serving import dibao_serve

BURST = 3
FORGED = [f"203.0.113.{i}" for i in range(1, 13)]


@contextlib.asynccontextmanager
async def serving(settings: Settings, folder: Path, *extra: str) -> AsyncIterator[str]:
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "DIBAO_RATE_LIMITS": f"anonymous=1/{BURST}",
    }
    env.pop("DIBAO_FORWARDED_ALLOW_IPS", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    async with dibao_serve(env, folder, extra) as base:
        yield base


async def _rotating(base: str) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        return [
            (
                await client.post(
                    "/graphql",
                    json={"query": "{ __typename }"},
                    headers={"x-forwarded-for": forged},
                )
            ).status_code
            for forged in FORGED
        ]


async def _clients(settings: Settings) -> set[str]:
    """The addresses the audit names (a request's entry adds the peer's port)."""
    exported = await adibao(settings, "audit", "export")
    assert exported.returncode == 0, exported.stderr
    clients = [json.loads(line).get("client") for line in exported.stdout.splitlines()]
    assert clients and all(isinstance(c, str) for c in clients), clients
    return {c.rsplit(":", 1)[0] if c.count(":") == 1 else c for c in clients}


async def test_forged_forwarded_for_is_ignored_by_default(
    settings: Settings, tmp_path: Path
) -> None:
    async with serving(settings, tmp_path) as base:
        codes = await _rotating(base)
    # one real peer: its burst, then refusals, whatever address each request claims
    assert codes.count(401) <= BURST + 1, codes
    assert codes.count(429) >= len(FORGED) - BURST - 1, codes
    clients = await _clients(settings)
    assert clients == {"127.0.0.1"}, clients


async def test_a_named_proxy_is_believed(settings: Settings, tmp_path: Path) -> None:
    # the operator's own reverse proxy on 127.0.0.1: now the header names the client
    async with serving(settings, tmp_path, "--forwarded-allow-ips", "127.0.0.1") as base:
        codes = await _rotating(base)
    assert codes.count(429) == 0, codes
    clients = await _clients(settings)
    assert clients == set(FORGED), clients
