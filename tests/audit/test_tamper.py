"""`dibao audit verify` detects every kind of tampering, naming the first bad entry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.chain import verify
from gateway.config import Settings
from gateway.runtime import Runtime
from tests.cli.test_cli import dibao
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token

Tamper = Callable[[AsyncConnection], Awaitable[None]]


async def _bypass_triggers(conn: AsyncConnection) -> None:
    """What an attacker with the database owner's rights would do first."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for event in ("update", "delete"):
            await conn.execute(text(f"DROP TRIGGER IF EXISTS audit_entries_no_{event}"))


async def edit(conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "UPDATE audit_entries SET entry = replace(entry, 'test-caseworker', 'someone-else') WHERE seq = 3"
        )
    )


async def delete(conn: AsyncConnection) -> None:
    await conn.execute(text("DELETE FROM audit_entries WHERE seq = 3"))


async def insert(conn: AsyncConnection) -> None:
    # shift entries 3.. up by one and forge a new entry 3 with a plausible hash
    await conn.execute(text("UPDATE audit_entries SET seq = seq + 100 WHERE seq >= 3"))
    await conn.execute(text("UPDATE audit_entries SET seq = seq - 99 WHERE seq >= 103"))
    await conn.execute(
        text(
            "INSERT INTO audit_entries (seq, time, principal, outcome, entry, prev_hash, hash) "
            "SELECT 3, time, principal, outcome, entry, hash, hash FROM audit_entries WHERE seq = 2"
        )
    )


async def swap(conn: AsyncConnection) -> None:
    await conn.execute(text("UPDATE audit_entries SET seq = -3 WHERE seq = 3"))
    await conn.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = 4"))
    await conn.execute(text("UPDATE audit_entries SET seq = 4 WHERE seq = -3"))


async def truncate_tail(conn: AsyncConnection) -> None:
    await conn.execute(text("DELETE FROM audit_entries WHERE seq >= 5"))
    await conn.execute(text("DELETE FROM audit_archives WHERE seq >= 5"))


async def edit_index(conn: AsyncConnection) -> None:
    await conn.execute(text("UPDATE audit_entries SET outcome = 'allowed' WHERE seq = 2"))


async def edit_credential(conn: AsyncConnection) -> None:
    # entry 3 is the caseworker's second request; pin it on another credential
    await conn.execute(text("UPDATE audit_entries SET credential_id = 'c0ffee' WHERE seq = 3"))


async def clear_credential(conn: AsyncConnection) -> None:
    await conn.execute(text("UPDATE audit_entries SET credential_id = NULL WHERE seq = 4"))


CASES: list[tuple[str, Tamper, int]] = [
    ("edited field", edit, 3),
    ("deleted entry", delete, 3),
    ("inserted entry", insert, 3),
    ("swapped entries", swap, 3),
    ("truncated tail", truncate_tail, 5),
    ("edited indexed column", edit_index, 2),
    ("entry moved to another credential", edit_credential, 3),
    ("entry's credential cleared", clear_credential, 4),
]


async def _requests(api: Api, runtime: Runtime, n: int = 6) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    for i in range(n):
        if i == 1:
            await api.client.post("/graphql", json={"query": "{ __typename }"})  # unauthenticated
        else:
            await api.gql(token, "{ households { totalCount } }")


async def test_intact_log_verifies_and_exports(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await _requests(api, runtime)
    verified = await asyncio.to_thread(dibao, settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "6 entries" in verified.stdout
    exported = await asyncio.to_thread(dibao, settings, "audit", "export")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[1]["outcome"] == "unauthenticated"
    assert all(len(line["hash"]) == 64 for line in lines)
    later = await asyncio.to_thread(
        dibao, settings, "audit", "export", "--since", "2999-01-01T00:00:00+00:00"
    )
    assert later.returncode == 0
    assert later.stdout == ""


# every operation the README says the database refuses on the audit tables, tried
REFUSED = [
    "UPDATE audit_entries SET outcome = 'x'",
    "UPDATE audit_entries SET seq = seq + 1000",
    "DELETE FROM audit_entries",
    "DELETE FROM audit_entries WHERE seq = 1",
    "UPDATE audit_archives SET archive_no = 'x'",
    "DELETE FROM audit_archives",
    "TRUNCATE audit_entries",
    "TRUNCATE audit_archives",
    "TRUNCATE audit_entries, audit_archives CASCADE",
]


@pytest.mark.parametrize("statement", REFUSED)
async def test_triggers_refuse_updates_deletes_and_truncates(
    api: Api, runtime: Runtime, statement: str
) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    for _ in range(2):  # lookups by archive number also leave archive index rows
        await api.gql(token, '{ household(archiveNo: "220183100001-2026-000001") { status } }')
    if statement.startswith("TRUNCATE") and runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is tried above")
    async with runtime.sessions() as session:
        before = (await session.execute(text("SELECT count(*) FROM audit_archives"))).scalar()
    assert before, "the requests must have left archive index rows to refuse deleting"
    with pytest.raises(Exception, match="append-only"):
        async with runtime.engine.begin() as conn:
            await conn.execute(text(statement))
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).entries == 2
        after = (await session.execute(text("SELECT count(*) FROM audit_archives"))).scalar()
    assert after == before


@pytest.mark.parametrize(("kind", "tamper", "first_bad"), CASES, ids=[c[0] for c in CASES])
async def test_tampering_is_detected(
    api: Api, runtime: Runtime, settings: Settings, kind: str, tamper: Tamper, first_bad: int
) -> None:
    await _requests(api, runtime)
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await tamper(conn)
    result = await asyncio.to_thread(dibao, settings, "audit", "verify")
    assert result.returncode != 0, (kind, result.stdout)
    assert f"at entry {first_bad}" in result.stderr, (kind, result.stderr)
