"""Retention: nothing inside the window can be removed; purging the rest keeps the chain whole."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from audit.chain import AuditChain
from audit.record import AuditRecord
from gateway.config import Settings
from gateway.runtime import Runtime
from store.types import utcnow
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao


async def _append(runtime: Runtime, chain: AuditChain, when: dt.datetime) -> None:
    record = AuditRecord(
        time=when, client=None, trace_id=None, principal="old-timer", outcome="allowed"
    )
    async with runtime.sessions.begin() as session:
        await chain.append(session, record.as_dict())


async def test_purge_removes_only_entries_past_retention(
    runtime: Runtime, settings: Settings
) -> None:
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    for days in (400, 300, 200, 10, 1):
        await _append(runtime, chain, now - dt.timedelta(days=days))

    # inside the window the database itself refuses, whoever asks
    with pytest.raises(Exception, match="append-only"):
        async with runtime.engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_entries WHERE seq = 4"))

    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 0, purged.stderr
    assert "purged 3 entries" in purged.stdout
    assert [e["seq"] for e in await entries(runtime)] == [4, 5]
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "2 entries" in verified.stdout

    # the chain continues from where it was, and a later deletion is still caught
    await _append(runtime, chain, utcnow())
    assert (await adibao(settings, "audit", "verify")).returncode == 0
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
        await conn.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
    broken = await adibao(settings, "audit", "verify")
    assert broken.returncode != 0
    assert "at entry 4" in broken.stderr


async def test_retention_can_grow_but_not_shrink_below_six_months(
    settings: Settings, runtime: Runtime
) -> None:
    shown = await adibao(settings, "audit", "retention")
    assert "183 days" in shown.stdout
    longer = await adibao(settings, "audit", "retention", "--days", "365")
    assert "365 days" in longer.stdout
    shorter = await adibao(settings, "audit", "retention", "--days", "30")
    assert shorter.returncode != 0
