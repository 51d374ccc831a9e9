"""PostgreSQL restarted under load: nothing hangs, callers get a clear 503, /readyz
says not ready, and service resumes by itself when the database is back.

This stops and starts the machine's real cluster (pg_ctlcluster, as CI's
machine has it); elsewhere it is skipped, unless DIBAO_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from gateway.runtime import Runtime
from tests.conftest import REQUIRE_POSTGRES, Api
from tests.helpers import issue_token

QUERY = "{ households(first: 3) { totalCount edges { node { archiveNo } } } }"
CLIENTS = 4


def cluster() -> list[str] | None:
    versions = (
        sorted(p.name for p in Path("/etc/postgresql").glob("*"))
        if Path("/etc/postgresql").exists()
        else []
    )
    if not versions or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        return None
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def ctl(base: list[str], *action: str) -> None:
    subprocess.run([*base, *action], check=True, capture_output=True, timeout=120)


def wait_ready(seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False, timeout=10
        )
        if done.returncode == 0:
            return
        time.sleep(0.3)
    raise RuntimeError("PostgreSQL did not come back")


# alone: every other test's PostgreSQL would go down with it
@pytest.mark.serial
@pytest.mark.postgres_only
async def test_restart_under_load(api: Api, runtime: Runtime) -> None:
    base = cluster()
    if base is None:
        if REQUIRE_POSTGRES:
            pytest.fail("pg_ctlcluster as root is required to restart PostgreSQL")
        pytest.skip("needs pg_ctlcluster and root to restart the cluster")
    token = await issue_token(runtime, "county_reviewer", "22")
    assert (await api.post(token, QUERY)).status_code == 200

    stop = asyncio.Event()
    seen: list[tuple[int, str | None, float]] = []

    async def client() -> None:
        while not stop.is_set():
            started = time.monotonic()
            response = await asyncio.wait_for(api.post(token, QUERY), timeout=20)
            body = response.json()
            code = body["errors"][0]["extensions"]["code"] if body.get("errors") else None
            seen.append((response.status_code, code, time.monotonic() - started))
            await asyncio.sleep(0.02)

    load = [asyncio.create_task(client()) for _ in range(CLIENTS)]
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(ctl, base, "stop", "-m", "fast")
        try:
            await asyncio.sleep(1.5)
            down = await api.post(token, QUERY)
            assert down.status_code == 503, down.text
            assert down.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
            assert "retry-after" in down.headers
            assert (await api.client.get("/readyz")).status_code == 503
        finally:
            await asyncio.to_thread(ctl, base, "start")
            await asyncio.to_thread(wait_ready)
        # no restart of the service: its pools find the database again by themselves
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (await api.post(token, QUERY)).status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert (await api.post(token, QUERY)).status_code == 200
        assert (await api.client.get("/readyz")).status_code == 200
    finally:
        stop.set()
        await asyncio.gather(*load)

    assert seen, "the load ran"
    assert all(elapsed < 10 for _, _, elapsed in seen), "a request hung"
    assert {(status, code) for status, code, _ in seen} <= {
        (200, None),
        (503, "UNAVAILABLE"),
    }, sorted({(s, c) for s, c, _ in seen})
    assert any(status == 503 for status, _, _ in seen)
    assert seen[-1][0] == 200
