"""Anchors outside the database: what the database owner can do to the log no longer
verifies, through `dibao audit verify` and the auditor's `verifyAuditChain`."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.anchors import AnchorWriter, read_anchors
from audit.chain import GENESIS, MAX_IN_FLIGHT, AuditChain, base_signature, entry_hash, sign
from audit.record import AuditRecord, canonical
from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from store.crypto import KeyRing
from store.models import AuditHead
from store.types import utcnow
from tests.audit.test_tamper import _bypass_triggers, _requests
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import issue_token

VERIFY = "mutation { verifyAuditChain { ok entries firstBad reason } }"
GENESIS_HEAD = {
    "seq": 0,
    "hash": GENESIS,
    "signature": "",
    "base_seq": 0,
    "base_hash": GENESIS,
    "base_signature": "",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # an anchor every second entry, and no timer within a test's run
    return dataclasses.replace(settings, anchor_every=2, anchor_seconds=600)


def _anchor_lines(settings: Settings) -> list[dict[str, Any]]:
    assert settings.anchor_file is not None
    return [json.loads(line) for line in settings.anchor_file.read_text().splitlines()]


async def _head(conn: AsyncConnection) -> dict[str, Any]:
    row = (await conn.execute(text("SELECT * FROM audit_head WHERE id = 1"))).mappings().one()
    return dict(row)


async def _set_head(conn: AsyncConnection, head: dict[str, Any]) -> None:
    await conn.execute(
        text(
            "UPDATE audit_head SET seq = :seq, hash = :hash, signature = :signature, "
            "base_seq = :base_seq, base_hash = :base_hash, base_signature = :base_signature "
            "WHERE id = 1"
        ),
        head,
    )


async def _cut_after(conn: AsyncConnection, seq: int) -> None:
    await conn.execute(text("DELETE FROM audit_archives WHERE seq > :s"), {"s": seq})
    await conn.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": seq})


async def _verify_fails(settings: Settings, at_entry: int, *words: str) -> str:
    result = await adibao(settings, "audit", "verify")
    assert result.returncode == 1, (result.stdout, result.stderr)
    message = " ".join(result.stderr.split())
    assert f"at entry {at_entry}" in message, message
    for word in words:
        assert word in message, message
    assert "Traceback" not in result.stderr
    return message


async def test_intact_log_with_anchors_verifies(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await _requests(api, runtime)
    assert [a["seq"] for a in _anchor_lines(settings)] == [2, 4, 6]
    assert settings.anchor_file is not None
    assert stat.S_IMODE(settings.anchor_file.stat().st_mode) == 0o600
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "6 entries" in verified.stdout and "warning" not in verified.stderr
    # the verified head is anchored in turn
    assert _anchor_lines(settings)[-1]["seq"] == 6
    auditor = await issue_token(runtime, "auditor", "*")
    ran = (await api.gql(auditor, VERIFY))["data"]["verifyAuditChain"]
    assert ran["ok"] is True, ran


async def test_wiped_log_fails(api: Api, runtime: Runtime, settings: Settings) -> None:
    await _requests(api, runtime)
    auditor = await issue_token(runtime, "auditor", "*")
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await _cut_after(conn, 0)
        await _set_head(conn, GENESIS_HEAD)
    await _verify_fails(settings, 1, "the log is empty", "entry 6 was anchored", "1 to 6")
    ran = (await api.gql(auditor, VERIFY))["data"]["verifyAuditChain"]
    assert ran["ok"] is False and ran["firstBad"] == 1, ran
    assert "wiped" in ran["reason"] and str(settings.anchor_file) not in ran["reason"]


async def test_rollback_to_an_older_signed_head_fails(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await _requests(api, runtime, 3)
    async with runtime.engine.connect() as conn:
        older = await _head(conn)
    assert older["seq"] == 3
    await _requests(api, runtime, 3)
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await _cut_after(conn, 3)
        await _set_head(conn, older)
    await _verify_fails(settings, 4, "the log ends at entry 3", "4 to 6 are missing")


async def test_cut_tail_fails(api: Api, runtime: Runtime, settings: Settings) -> None:
    await _requests(api, runtime)
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await _cut_after(conn, 4)
    await _verify_fails(settings, 5)


@pytest.mark.parametrize(
    ("kind", "forge"),
    [
        ("moved", lambda line: {**line, "seq": line["seq"] + 10}),
        ("resigned", lambda line: {**line, "signature": "0" * 64}),
        ("not json", lambda line: "{seq: 8"),
    ],
)
async def test_forged_anchor_line_fails(
    api: Api, runtime: Runtime, settings: Settings, kind: str, forge: Any
) -> None:
    await _requests(api, runtime)
    assert settings.anchor_file is not None
    forged = forge(_anchor_lines(settings)[0])
    with settings.anchor_file.open("a") as f:
        f.write((forged if isinstance(forged, str) else json.dumps(forged)) + "\n")
    result = await adibao(settings, "audit", "verify")
    assert result.returncode == 1, (kind, result.stdout)
    assert "anchor file line 4" in " ".join(result.stderr.split()), (kind, result.stderr)
    # no entry was checked against a file that cannot be trusted
    auditor = await issue_token(runtime, "auditor", "*")
    ran = (await api.gql(auditor, VERIFY))["data"]["verifyAuditChain"]
    assert ran["ok"] is False and ran["entries"] == 0 and ran["firstBad"] is None, (kind, ran)
    assert "anchor file line 4" in ran["reason"], (kind, ran)


async def test_genesis_without_anchors_verifies(runtime: Runtime, settings: Settings) -> None:
    assert settings.anchor_file is not None and not settings.anchor_file.exists()
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "0 entries" in verified.stdout and "warning" not in verified.stderr
    assert not settings.anchor_file.exists()  # nothing to anchor yet


async def test_entries_without_an_anchor_file_warn_then_anchor(
    runtime: Runtime, settings: Settings
) -> None:
    # a database from before anchors: intact, but say that a wipe was not checkable
    chain = AuditChain(runtime.cipher)
    for _ in range(2):
        await _append(runtime, chain, utcnow())
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "warning" in verified.stderr and "anchor file is missing" in verified.stderr
    assert [a["seq"] for a in _anchor_lines(settings)] == [2]
    again = await adibao(settings, "audit", "verify")
    assert again.returncode == 0 and "warning" not in again.stderr


async def _append(
    runtime: Runtime, chain: AuditChain, when: dt.datetime, *, commit_hook: bool = False
) -> None:
    record = AuditRecord(time=when, client=None, trace_id=None, principal="x", outcome="allowed")
    async with runtime.sessions.begin() as session:
        seq = await chain.append(session, record.as_dict())
    if commit_hook:
        chain.committed(seq)


async def test_entries_never_said_committed_are_kept_for_anchoring_up_to_a_bound(
    runtime: Runtime, tmp_path: Path
) -> None:
    # a caller that never says its entry committed must not grow the chain without
    # end: the oldest of more than MAX_IN_FLIGHT are dropped, the newest MAX_IN_FLIGHT kept
    writer = AnchorWriter(runtime.cipher, path=tmp_path / "a.jsonl", every=1, seconds=600)
    chain = AuditChain(runtime.cipher, anchors=writer)
    record = AuditRecord(
        time=utcnow(), client=None, trace_id=None, principal="x", outcome="allowed"
    )
    async with runtime.sessions.begin() as session:
        seqs = await chain.append_batch(session, [record.as_dict()] * (MAX_IN_FLIGHT + 1))
    assert seqs == list(range(1, MAX_IN_FLIGHT + 2))
    chain.committed(1)  # dropped: nothing to anchor, and no anchor without its hash
    assert not (tmp_path / "a.jsonl").exists()
    chain.committed(2)  # the oldest kept
    chain.committed(MAX_IN_FLIGHT + 1)
    writer.close()
    anchors = read_anchors(tmp_path / "a.jsonl", runtime.cipher.keys)
    assert anchors.problem is None and list(anchors.by_seq) == [2, MAX_IN_FLIGHT + 1]


async def test_purge_keeps_old_anchors_verifiable(runtime: Runtime, settings: Settings) -> None:
    chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
    now = utcnow()
    for days in (400, 300, 250, 200, 10, 1):
        await _append(runtime, chain, now - dt.timedelta(days=days), commit_hook=True)
    assert [a["seq"] for a in _anchor_lines(settings)] == [2, 4, 6]
    purged = await adibao(settings, "audit", "purge")
    assert purged.returncode == 0, purged.stderr
    assert "purged 4 entries" in purged.stdout
    # anchor 2 went with the purged prefix, anchor 4 is the signed purge base
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "2 entries" in verified.stdout
    # a wipe after the purge is still caught
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await _cut_after(conn, 0)
        await _set_head(conn, GENESIS_HEAD)
    await _verify_fails(settings, 1, "the log is empty")


async def test_shutdown_anchors_the_last_entry(runtime: Runtime, settings: Settings) -> None:
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
        for _ in range(3):
            await _append(runtime, chain, utcnow(), commit_hook=True)
        assert [a["seq"] for a in _anchor_lines(settings)] == [2]
    assert [a["seq"] for a in _anchor_lines(settings)] == [2, 3]


async def test_timer_anchors_a_quiet_tail(tmp_path: Path) -> None:
    keys = KeyRing.generate()
    writer = AnchorWriter(keys, path=tmp_path / "a.jsonl", every=1000, seconds=0.05)
    ticker = asyncio.create_task(writer.run())
    writer.committed(1, "a" * 64)
    for _ in range(100):
        await asyncio.sleep(0.02)
        if (tmp_path / "a.jsonl").exists():
            break
    await writer.stop(ticker)
    anchors = read_anchors(tmp_path / "a.jsonl", keys)
    assert anchors.problem is None and list(anchors.by_seq) == [1]
    # another ring's key does not make an anchor
    assert read_anchors(tmp_path / "a.jsonl", KeyRing.generate()).problem is not None


def test_syslog_receives_the_same_anchor(tmp_path: Path) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    keys = KeyRing.generate()
    writer = AnchorWriter(keys, path=tmp_path / "a.jsonl", syslog=f"127.0.0.1:{port}", every=1)
    try:
        writer.committed(7, "b" * 64)
        message = receiver.recv(4096).decode()
    finally:
        writer.close()
        receiver.close()
    assert message.startswith("<") and "dibao-audit-anchor: " in message  # priority, then tag
    line = message.split("dibao-audit-anchor: ", 1)[1].rstrip("\x00")
    assert line + "\n" == (tmp_path / "a.jsonl").read_text()


async def test_an_unwritable_anchor_file_never_fails_a_request(
    api: Api, runtime: Runtime, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    runtime.anchors.path = tmp_path / "no-such-folder" / "anchors.jsonl"
    await _requests(api, runtime, 4)  # each answered 200 or 401, as without anchors
    assert "audit anchor not written" in caplog.text
    assert caplog.text.count("audit anchor not written") == 1  # said once, not per entry


async def _wipe(runtime: Runtime) -> None:
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        await _cut_after(conn, 0)
        await _set_head(conn, GENESIS_HEAD)


async def test_a_file_cut_to_one_incomplete_line_fails(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await _requests(api, runtime)
    await _wipe(runtime)
    assert settings.anchor_file is not None
    first = settings.anchor_file.read_text().splitlines()[0]
    settings.anchor_file.write_text(first[: len(first) // 2])  # cut short, no newline
    result = await adibao(settings, "audit", "verify")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "incomplete" in result.stderr and "cut short" in result.stderr, result.stderr


@pytest.mark.parametrize("anchor_file", ["missing", "empty"])
async def test_an_emptied_log_without_anchors_fails_when_the_database_has_history(
    api: Api, runtime: Runtime, settings: Settings, anchor_file: str
) -> None:
    await _requests(api, runtime)
    auditor = await issue_token(runtime, "auditor", "*")
    await _wipe(runtime)
    async with runtime.engine.begin() as conn:  # the credentials were issued an hour ago
        await conn.execute(
            text("UPDATE credentials SET created_at = :t"),
            {"t": utcnow() - dt.timedelta(hours=1)},
        )
    assert settings.anchor_file is not None
    settings.anchor_file.unlink()
    if anchor_file == "empty":
        settings.anchor_file.write_text("")
    result = await adibao(settings, "audit", "verify")
    assert result.returncode == 1, (result.stdout, result.stderr)
    message = " ".join(result.stderr.split())
    assert "audit log is empty" in message and "credentials issued" in message, message
    assert f"at entry 1: the audit log is empty and the anchor file is {anchor_file}" in message
    # an installation that never served says so on purpose, and is still warned
    allowed = await adibao(settings, "audit", "verify", "--allow-unanchored")
    assert allowed.returncode == 0, allowed.stderr
    assert "warning" in allowed.stderr and "--allow-unanchored" in allowed.stderr
    assert "audit log intact: 0 entries" in allowed.stdout
    # the auditor's verifyAuditChain has no such option: it fails
    ran = (await api.gql(auditor, VERIFY))["data"]["verifyAuditChain"]
    assert ran["ok"] is False and ran["entries"] == 0 and ran["firstBad"] == 1, ran


async def test_an_empty_log_with_a_credential_issued_minutes_ago_verifies(
    runtime: Runtime, settings: Settings
) -> None:
    # a fresh installation whose first credential was just issued has no history yet:
    # only what is older than the settling time counts as use before the empty log
    await issue_token(runtime, "auditor", "*")
    assert settings.anchor_file is not None and not settings.anchor_file.exists()
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact: 0 entries" in verified.stdout and "warning" not in verified.stderr


async def test_a_purge_checkpoint_that_differs_from_its_anchor_fails(
    runtime: Runtime, settings: Settings, key_ring: KeyRing
) -> None:
    """A purge base moved to another hash, even signed with the audit key (by someone
    holding it), no longer matches the anchor taken of that entry."""
    chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
    now = utcnow()
    for days in (400, 300, 200):
        await _append(runtime, chain, now - dt.timedelta(days=days), commit_hook=True)
    verified = await adibao(settings, "audit", "verify")  # anchors the head, entry 3
    assert verified.returncode == 0, verified.stderr
    assert [a["seq"] for a in _anchor_lines(settings)] == [2, 3]
    purged = await adibao(settings, "audit", "purge")  # every entry: the base is the head
    assert purged.returncode == 0 and "purged 3 entries" in purged.stdout, purged.stderr
    async with runtime.sessions() as session:
        head = (await session.execute(select(AuditHead))).scalar_one()
    assert head.base_seq == 3 and head.base_time is not None and head.purged_at is not None
    forged = "e" * 64
    signature = base_signature(key_ring.audit_key, 3, forged, head.base_time, head.purged_at)
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_head SET base_hash = :h, base_signature = :s WHERE id = 1"),
            {"h": forged, "s": signature},
        )
    await _verify_fails(settings, 3, "the purge checkpoint at entry 3 differs from its anchor")


async def test_an_anchored_entry_rewritten_with_the_key_fails(
    api: Api, runtime: Runtime, settings: Settings, key_ring: KeyRing
) -> None:
    """Someone holding the audit key rewrites the last entry and re-signs the head: the
    chain holds in the database, and only its anchor tells."""
    await _requests(api, runtime)
    assert [a["seq"] for a in _anchor_lines(settings)] == [2, 4, 6]
    async with runtime.engine.begin() as conn:
        await _bypass_triggers(conn)
        row = (
            await conn.execute(text("SELECT entry, prev_hash FROM audit_entries WHERE seq = 6"))
        ).one()
        body = canonical({**json.loads(row.entry), "forged": True})  # no indexed column
        digest = entry_hash(key_ring.audit_key, row.prev_hash, 6, body)
        await conn.execute(
            text("UPDATE audit_entries SET entry = :e, hash = :h WHERE seq = 6"),
            {"e": body.decode(), "h": digest},
        )
        await conn.execute(
            text("UPDATE audit_head SET hash = :h, signature = :s WHERE id = 1"),
            {"h": digest, "s": sign(key_ring, 6, digest)},
        )
    await _verify_fails(settings, 6, "entry 6 differs from its anchor (line 3)")
