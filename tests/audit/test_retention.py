"""Retention: nothing inside the window can be removed; purging the rest keeps the chain whole."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, select, text, update

from audit.chain import (
    MIN_RETENTION,
    MIN_RETENTION_DAYS,
    AuditChain,
    RetentionTampered,
    base_signature,
    purge,
    sign,
)
from audit.record import AuditRecord
from gateway.config import Settings
from gateway.runtime import Runtime
from store.crypto import KeyRing
from store.models import AuditEntry, AuditHead
from store.types import utcnow
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import issue_token

VERIFY = "mutation { verifyAuditChain { ok entries firstBad reason } }"


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
    api: Api, runtime: Runtime, settings: Settings, key_ring: KeyRing, timed: bool
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
    assert "at entry 3:" in message, message  # the purge base: where the chain now starts
    auditor = await issue_token(runtime, "auditor", "*")
    ran = (await api.gql(auditor, VERIFY))["data"]["verifyAuditChain"]
    assert ran["ok"] is False and ran["entries"] == 0 and ran["firstBad"] == 3, ran


async def test_purge_takes_the_archive_index_rows_of_what_it_purges(
    runtime: Runtime, settings: Settings
) -> None:
    # "who looked at household X" rows go with their entries, and only with them
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    for n, days in enumerate((400, 300, 10, 1)):
        record = AuditRecord(
            time=now - dt.timedelta(days=days),
            client=None,
            trace_id=None,
            principal="old-timer",
            outcome="allowed",
            archive_nos=[f"220183100001-2026-00000{n}"],
        )
        async with runtime.sessions.begin() as session:
            await chain.append(session, record.as_dict())
    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 0 and "purged 2 entries" in purged.stdout, purged.stderr
    async with runtime.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT seq FROM audit_archives ORDER BY seq"))).all()
    assert [row.seq for row in kept] == [3, 4]
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0 and "2 entries" in verified.stdout, verified.stderr


async def test_a_purge_with_nothing_past_the_window_purges_nothing(
    runtime: Runtime, settings: Settings
) -> None:
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    for days in (10, 1):
        await _append(runtime, chain, now - dt.timedelta(days=days))
    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 0 and "purged 0 entries" in purged.stdout, purged.stderr
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0 and "2 entries" in verified.stdout, verified.stderr


async def test_the_window_ends_one_minute_past_the_retention(runtime: Runtime) -> None:
    """Purged: what is older than the retention and one minute more. Kept: what is
    exactly that old, and younger (the minute keeps clear of the database's own check,
    which runs on the database's clock)."""
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    window = dt.timedelta(days=MIN_RETENTION_DAYS, minutes=1)
    ages = (
        dt.timedelta(days=400),
        window + dt.timedelta(seconds=30),
        window,
        window - dt.timedelta(seconds=30),
        dt.timedelta(days=10),
    )
    for age in ages:
        await _append(runtime, chain, now - age)
    async with runtime.sessions.begin() as session:
        removed = await purge(session, runtime.cipher.keys, now=now)
    assert removed == 2
    assert [e["seq"] for e in await entries(runtime)] == [3, 4, 5]


async def test_a_forged_purge_checkpoint_fails(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    for days in (400, 300, 10):
        await _append(runtime, chain, now - dt.timedelta(days=days))
    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 0 and "purged 2 entries" in purged.stdout, purged.stderr
    auditor = await issue_token(runtime, "auditor", "*")
    async with runtime.engine.begin() as conn:  # the head row takes updates (appends move it)
        await conn.execute(text("UPDATE audit_head SET base_signature = :s"), {"s": "0" * 64})
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 1, verified.stdout
    reason = "the purge checkpoint's signature is wrong"
    assert f"at entry 3: {reason}" in " ".join(verified.stderr.split()), verified.stderr
    ran = (await api.gql(auditor, VERIFY))["data"]["verifyAuditChain"]
    assert ran == {"ok": False, "entries": 0, "firstBad": 3, "reason": reason}


async def _move_time(
    runtime: Runtime, seq: int, when: dt.datetime, *, own_time: str | None = None
) -> None:
    """The database owner moves an entry's indexed time, around the triggers, and if
    given rewrites the time the entry itself carries too."""
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        values: dict[str, object] = {"time": when}
        if own_time is not None:
            body = await conn.scalar(select(AuditEntry.entry).where(AuditEntry.seq == seq))
            values["entry"] = json.dumps({**json.loads(str(body)), "time": own_time})
        await conn.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(**values))


@pytest.mark.parametrize("inside", [dt.timedelta(0), dt.timedelta(seconds=1)], ids=["at", "inside"])
async def test_purge_judges_an_entry_by_its_own_time_not_its_indexed_one(
    runtime: Runtime, inside: dt.timedelta
) -> None:
    """An entry whose indexed time was moved back past the window is purged only if its
    own time (under its hash) is at least the minimum retention old; one second less is
    refused as tampering, and nothing goes."""
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    await _append(runtime, chain, now - MIN_RETENTION + inside)
    await _append(runtime, chain, now - dt.timedelta(days=10))
    await _move_time(runtime, 1, now - dt.timedelta(days=400))
    async with runtime.sessions.begin() as session:
        if inside:
            with pytest.raises(RetentionTampered, match="entry 1 is inside the minimum"):
                await purge(session, runtime.cipher.keys, now=now)
        else:
            assert await purge(session, runtime.cipher.keys, now=now) == 1
    assert [e["seq"] for e in await entries(runtime)] == ([1, 2] if inside else [2])


async def test_an_entry_edited_to_a_time_without_offset_is_read_as_utc(runtime: Runtime) -> None:
    """Every entry's own time carries its UTC offset. One whose time was rewritten
    without it, an hour inside the minimum retention, and its indexed time moved back
    past the window, is read as UTC: refused as tampering, not a crash of the purge."""
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    own = now - MIN_RETENTION + dt.timedelta(hours=1)
    await _append(runtime, chain, own)
    await _append(runtime, chain, now - dt.timedelta(days=10))
    naive = own.replace(tzinfo=None).isoformat(timespec="microseconds")
    await _move_time(runtime, 1, now - dt.timedelta(days=400), own_time=naive)
    async with runtime.sessions.begin() as session:
        with pytest.raises(RetentionTampered, match="entry 1 is inside the minimum"):
            await purge(session, runtime.cipher.keys, now=now)
    assert [e["seq"] for e in await entries(runtime)] == [1, 2]


async def test_purge_leaves_an_entry_put_back_under_its_base(runtime: Runtime) -> None:
    """An entry put back at the purge base (around the triggers) is not the purge's to
    remove: the next purge leaves it, and verification names it."""
    chain = AuditChain(runtime.cipher)
    now = utcnow()
    for days in (400, 300, 250, 10):
        await _append(runtime, chain, now - dt.timedelta(days=days))
    async with runtime.engine.connect() as conn:
        table = AuditEntry.__table__
        base = (await conn.execute(select(table).where(table.c.seq == 1))).mappings().one()
    async with runtime.sessions.begin() as session:
        assert await purge(session, runtime.cipher.keys, now=now - dt.timedelta(days=150)) == 1
    async with runtime.engine.begin() as conn:
        await conn.execute(insert(AuditEntry).values(**dict(base)))
    async with runtime.sessions.begin() as session:
        assert await purge(session, runtime.cipher.keys, now=now) == 2
    assert [e["seq"] for e in await entries(runtime)] == [1, 4]
