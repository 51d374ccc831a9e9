"""`dibao audit verify` detects every kind of tampering, naming the first bad entry."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from audit import fields as F
from audit.chain import GENESIS, entry_hash, sign, verify
from audit.record import AuditRecord, canonical
from gateway.config import Settings
from gateway.runtime import Runtime
from store.crypto import KeyRing
from store.types import utcnow
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


async def _tampered_then_verified(
    api: Api, runtime: Runtime, settings: Settings, tamper: Tamper
) -> subprocess.CompletedProcess[str]:
    """A few requests' entries, one tampering by the database owner, `dibao audit verify`."""
    await _requests(api, runtime)
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await tamper(conn)
    return await asyncio.to_thread(dibao, settings, "audit", "verify")


@pytest.mark.parametrize(("kind", "tamper", "first_bad"), CASES, ids=[c[0] for c in CASES])
async def test_tampering_is_detected(
    api: Api, runtime: Runtime, settings: Settings, kind: str, tamper: Tamper, first_bad: int
) -> None:
    result = await _tampered_then_verified(api, runtime, settings, tamper)
    assert result.returncode != 0, (kind, result.stdout)
    assert f"at entry {first_bad}" in result.stderr, (kind, result.stderr)


async def stray_entry(conn: AsyncConnection) -> None:
    # an entry past the signed head, which no append put there: a copy of the head's
    await conn.execute(
        text(
            "INSERT INTO audit_entries (seq, time, principal, outcome, entry, prev_hash, hash) "
            "SELECT 7, time, principal, outcome, entry, hash, hash FROM audit_entries WHERE seq = 6"
        )
    )


async def orphan_index_row(conn: AsyncConnection) -> None:
    # "who looked at household X" pointing at an entry that does not exist
    await conn.execute(
        text("INSERT INTO audit_archives (seq, archive_no) VALUES (0, '220183100001-2026-000001')")
    )


REASONS: list[tuple[str, Tamper, int, str]] = [
    ("edited field", edit, 3, "entry 3 was altered"),
    ("deleted entry", delete, 3, "entry 3 is missing"),
    ("inserted entry", insert, 3, "entry 3 was altered"),
    ("swapped entries", swap, 3, "entry 3 does not follow entry 2"),
    ("truncated tail", truncate_tail, 5, "the log ends at entry 4 but the head says 6"),
    ("edited indexed column", edit_index, 2, "entry 2: indexed columns were altered"),
    ("stray entry", stray_entry, 7, "entries beyond the signed head"),
    ("orphan index row", orphan_index_row, 0, "archive index rows for missing entry 0"),
]


@pytest.mark.parametrize(
    ("kind", "tamper", "first_bad", "reason"), REASONS, ids=[c[0] for c in REASONS]
)
async def test_each_tampering_is_named_with_its_reason(
    api: Api,
    runtime: Runtime,
    settings: Settings,
    kind: str,
    tamper: Tamper,
    first_bad: int,
    reason: str,
) -> None:
    """The operator reads why, not only where: the reason names what was done."""
    result = await _tampered_then_verified(api, runtime, settings, tamper)
    message = " ".join(result.stderr.split())
    assert result.returncode == 1 and "Traceback" not in result.stderr, (kind, result.stderr)
    assert f"at entry {first_bad}: {reason}" in message, (kind, message)


# an entry whose text is no longer an entry: each is named, none crashes the command
UNREADABLE = {
    "not json": "{seq: 3",
    "not an object": "[]",
    "an unknown key version": '{"key_version": 99}',
    "no key version number": '{"key_version": null}',
    "a key version that is no number": '{"key_version": "x"}',
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=list(UNREADABLE))
async def test_an_unreadable_entry_is_named_not_a_crash(
    api: Api, runtime: Runtime, settings: Settings, body: str
) -> None:
    await _requests(api, runtime)
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await conn.execute(text("UPDATE audit_entries SET entry = :b WHERE seq = 3"), {"b": body})
    result = await asyncio.to_thread(dibao, settings, "audit", "verify")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "at entry 3: entry 3 is not readable" in " ".join(result.stderr.split())


async def test_an_empty_log_under_a_head_that_is_not_the_genesis_fails(
    runtime: Runtime, settings: Settings
) -> None:
    # no entry and no anchor, but the head says the chain ends at another hash: only
    # the genesis head needs no signature
    async with runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": "f" * 64})
    result = await asyncio.to_thread(dibao, settings, "audit", "verify")
    assert result.returncode == 1, result.stdout
    message = " ".join(result.stderr.split())
    assert "at entry 0: the head checkpoint's signature is wrong" in message, message


async def test_an_entry_from_before_key_versions_is_read_under_the_first_key(
    runtime: Runtime, settings: Settings, key_ring: KeyRing
) -> None:
    """Entries written before they named their key version were hashed with the first
    audit key: they still verify, as the first version's."""
    record = AuditRecord(
        time=utcnow(), client=None, trace_id=None, principal="old-build", outcome="allowed"
    )
    entry = record.as_dict()
    assert F.KEY_VERSION not in entry
    body = canonical(entry)
    digest = entry_hash(key_ring.audit_keys[1], GENESIS, 1, body)
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO audit_entries (seq, time, principal, outcome, entry, prev_hash, hash)"
                " VALUES (1, :t, 'old-build', 'allowed', :e, :p, :h)"
            ),
            {"t": record.time, "e": body.decode(), "p": GENESIS, "h": digest},
        )
        await conn.execute(
            text("UPDATE audit_head SET seq = 1, hash = :h, signature = :s WHERE id = 1"),
            {"h": digest, "s": sign(key_ring, 1, digest)},
        )
    result = await asyncio.to_thread(dibao, settings, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "audit log intact: 1 entries" in result.stdout


async def test_a_head_re_signed_at_its_own_sequence_over_another_hash_fails(
    api: Api, runtime: Runtime, settings: Settings, key_ring: KeyRing
) -> None:
    # signed with the audit key (by someone holding it), at the log's own length: the
    # head must still be the last entry's hash
    await _requests(api, runtime)
    forged = "e" * 64
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_head SET hash = :h, signature = :s WHERE id = 1"),
            {"h": forged, "s": sign(key_ring, 6, forged)},
        )
    result = await asyncio.to_thread(dibao, settings, "audit", "verify")
    assert result.returncode == 1, result.stdout
    message = " ".join(result.stderr.split())
    assert "at entry 7: the log ends at entry 6 but the head says 6" in message, message
