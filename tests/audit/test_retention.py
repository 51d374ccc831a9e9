"""Retention: nothing inside the window can be removed; purging the rest keeps the chain whole."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text, update

from audit.chain import AuditChain, base_signature, sign
from audit.record import AuditRecord
from gateway.config import Settings
from gateway.runtime import Runtime
from store.crypto import KeyRing
from store.models import AuditHead
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


@pytest.fixture
async def restored_check(runtime: Runtime) -> AsyncIterator[None]:
    """PostgreSQL's test database outlives the test: put the dropped CHECK back."""
    yield
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("UPDATE audit_retention SET days = 183 WHERE days < 183"))
            await conn.execute(
                text(
                    "ALTER TABLE audit_retention ADD CONSTRAINT ck_audit_retention_six_months "
                    "CHECK (days >= 183)"
                )
            )


async def _tamper_retention(runtime: Runtime, days: int) -> None:
    """The database owner goes around the table's CHECK constraint."""
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "ALTER TABLE audit_retention DROP CONSTRAINT IF EXISTS ck_audit_retention_six_months"
                )
            )
        else:
            await conn.execute(text("PRAGMA ignore_check_constraints = 1"))
        await conn.execute(text("UPDATE audit_retention SET days = :d"), {"d": days})
        if conn.dialect.name == "sqlite":
            await conn.execute(text("PRAGMA ignore_check_constraints = 0"))


@pytest.mark.parametrize("days", [-1, 0, 182])
@pytest.mark.usefixtures("restored_check")
async def test_purge_refuses_a_retention_table_below_the_minimum(
    runtime: Runtime, settings: Settings, days: int
) -> None:
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    for age in (dt.timedelta(days=400), dt.timedelta(days=10), dt.timedelta(seconds=5)):
        await _append(runtime, chain, now - age)
    await _tamper_retention(runtime, days)

    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 2, (purged.stdout, purged.stderr)
    message = " ".join(purged.stderr.split())
    assert f"says {days} days" in message and "tampering" in message, message
    assert "Traceback" not in purged.stderr
    assert [e["seq"] for e in await entries(runtime)] == [1, 2, 3]
    shown = await adibao(settings, "audit", "retention")
    assert shown.returncode == 2 and "tampering" in shown.stderr, shown.stderr

    # set back by the operator: the legal purge runs, and the chain verifies
    assert (await adibao(settings, "audit", "retention", "--days", "183")).returncode == 0
    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 0 and "purged 1 entries" in purged.stdout, purged.stderr
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0 and "2 entries" in verified.stdout, verified.stderr


async def _purge_as_an_older_build(runtime: Runtime, keys: KeyRing, *, timed: bool) -> None:
    """What `dibao audit purge` signed before the minimum held in code, over a table
    set to -1 days: everything to the head, seconds old, under a valid base signature."""
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
            await conn.execute(text("DROP TRIGGER IF EXISTS audit_archives_no_delete"))
        head = (await conn.execute(text("SELECT seq, hash FROM audit_head"))).one()
        newest = (
            await conn.execute(
                text("SELECT entry FROM audit_entries WHERE seq = :s"), {"s": head.seq}
            )
        ).scalar_one()
        await conn.execute(text("DELETE FROM audit_archives"))
        await conn.execute(text("DELETE FROM audit_entries"))
        base: dict[str, object] = {"s": head.seq, "h": head.hash, "bt": None, "pa": None}
        if timed:
            base_time = dt.datetime.fromisoformat(json.loads(newest)["time"])
            base["bt"], base["pa"] = base_time, utcnow()
            base["sig"] = base_signature(keys.audit_key, head.seq, head.hash, base_time, base["pa"])  # type: ignore[arg-type]
        else:
            base["sig"] = sign(keys, head.seq, head.hash, kind="base")
        await conn.execute(
            update(AuditHead).values(
                base_seq=base["s"],
                base_hash=base["h"],
                base_signature=base["sig"],
                base_time=base["bt"],
                purged_at=base["pa"],
            )
        )


@pytest.mark.parametrize("timed", [False, True], ids=["untimed-base", "timed-base"])
async def test_verify_fails_after_a_purge_inside_the_minimum(
    runtime: Runtime, settings: Settings, key_ring: KeyRing, timed: bool
) -> None:
    chain = AuditChain(runtime.cipher)
    for _ in range(3):
        await _append(runtime, chain, utcnow())
    first = await adibao(settings, "audit", "verify")  # anchors the head, entry 3
    assert first.returncode == 0, first.stderr

    await _purge_as_an_older_build(runtime, key_ring, timed=timed)

    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 1, (verified.stdout, verified.stderr)
    message = " ".join(verified.stderr.split())
    assert "purged too early" in message and "183 days" in message, message
