"""The hash chain: appending entries and verifying the whole log.

Each entry's hash is HMAC-SHA256(key, prev_hash | seq | canonical entry); the
single `audit_head` row holds the newest (seq, hash) signed with the same key,
so deleting or rewriting the tail is detected as well as any edit, deletion,
insertion or reordering inside the chain.

Appends from one process are serialised by a lock and use a cached head, so on
PostgreSQL an append is one statement: it moves the head only if it is still
where this process last saw it, and inserts the entries in the same statement.
When another process moved the head first, the statement writes nothing and
the append is retried from the head as it now is. An append may carry several
entries (the group commit of concurrent reads, `audit/group.py`): they are
chained in order and written all together or not at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import BigInteger, String, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from audit import fields as F
from audit.anchors import AnchorSet, AnchorWriter, read_anchors
from audit.lookups import search_keys
from audit.record import canonical
from domain.errors import DomainError
from store.crypto import Cipher, KeyRing
from store.fastread import Reads
from store.models import (
    AuditArchive,
    AuditEntry,
    AuditHead,
    AuditRetention,
    Credential,
    PolicyState,
)
from store.types import UtcDateTime

GENESIS = "0" * 64
MAX_ATTEMPTS = 100
# the Cybersecurity Law (art. 21): network logs are kept at least six months. Held
# here, not only by the retention table's CHECK: the table is the database owner's
MIN_RETENTION_DAYS = 183
MIN_RETENTION = dt.timedelta(days=MIN_RETENTION_DAYS)
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_IN_FLIGHT = 1024

# One statement for a whole batch: the head moves past the last entry only if it is
# still where this process last saw it, and the entries (and their archive index
# rows) go in with it from arrays, or nothing does. A single entry is a batch of one.
_PG_APPEND = text(
    """
    WITH moved AS (
        UPDATE audit_head SET seq = :seq, hash = :hash, signature = :signature
        WHERE id = 1 AND seq = :prev_seq
        RETURNING seq
    ), written AS (
        INSERT INTO audit_entries
            (seq, time, principal, role, outcome, entry, prev_hash, hash, credential_id)
        SELECT b.* FROM moved, unnest(
            CAST(:seqs AS bigint[]), CAST(:times AS timestamptz[]), CAST(:principals AS text[]),
            CAST(:roles AS text[]), CAST(:outcomes AS text[]), CAST(:entries AS text[]),
            CAST(:prev_hashes AS text[]), CAST(:hashes AS text[]),
            CAST(:credential_ids AS text[])
        ) AS b(seq, time, principal, role, outcome, entry, prev_hash, hash, credential_id)
        RETURNING seq
    ), touched AS (
        INSERT INTO audit_archives (seq, archive_no)
        SELECT t.seq, t.archive_no
        FROM unnest(CAST(:archive_seqs AS bigint[]), CAST(:archive_nos AS text[]))
            AS t(seq, archive_no)
        JOIN written ON written.seq = t.seq
        RETURNING 1
    )
    SELECT count(*) FROM written
    """
).bindparams(
    *(
        bindparam(name, type_=ARRAY(String))
        for name in (
            "principals",
            "roles",
            "outcomes",
            "entries",
            "prev_hashes",
            "hashes",
            "credential_ids",
            "archive_nos",
        )
    ),
    bindparam("seqs", type_=ARRAY(BigInteger)),
    bindparam("archive_seqs", type_=ARRAY(BigInteger)),
    bindparam("times", type_=ARRAY(UtcDateTime())),
)


async def _read_head(conn: AsyncSession | AsyncConnection | Reads) -> tuple[int, str]:
    if isinstance(conn, Reads):
        rows = await conn.all(select(AuditHead.seq, AuditHead.hash))
        return int(rows[0]["seq"]), str(rows[0]["hash"])
    row = (await conn.execute(select(AuditHead.seq, AuditHead.hash))).one()
    return int(row.seq), str(row.hash)


def entry_hash(key: bytes, prev_hash: str, seq: int, body: bytes) -> str:
    return hmac.new(key, prev_hash.encode() + b"|%d|" % seq + body, hashlib.sha256).hexdigest()


def head_signature(key: bytes, seq: int, hash_: str, *, kind: str = "head") -> str:
    return hmac.new(key, f"{kind}|{seq}|{hash_}".encode(), hashlib.sha256).hexdigest()


def sign(keys: KeyRing, seq: int, hash_: str, *, kind: str = "head") -> str:
    """A checkpoint signature under the current audit key."""
    return head_signature(keys.audit_key, seq, hash_, kind=kind)


def signature_holds(keys: KeyRing, signature: str, seq: int, hash_: str, *, kind: str) -> bool:
    """Signed under any audit key version of the ring (checkpoints made before a
    rotation carry an older key; every key of the ring is the operator's own)."""
    return any(
        hmac.compare_digest(head_signature(key, seq, hash_, kind=kind), signature)
        for key in keys.audit_keys.values()
    )


class RetentionTampered(DomainError):
    """The retention table says less than the legal minimum: someone went around its CHECK."""

    code = "AUDIT_TAMPERED"


def base_signature(
    key: bytes, seq: int, hash_: str, base_time: dt.datetime, purged_at: dt.datetime
) -> str:
    """A purge checkpoint: where the chain now starts, when that entry was written and
    when it was purged, so verification can tell a purge inside the minimum retention."""
    message = f"base|{seq}|{hash_}|{_stamp(base_time)}|{_stamp(purged_at)}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _base_holds(keys: KeyRing, head: AuditHead) -> bool:
    if head.base_time is None or head.purged_at is None:  # a purge from before timed bases
        return signature_holds(
            keys, head.base_signature, head.base_seq, head.base_hash, kind="base"
        )
    return any(
        hmac.compare_digest(
            base_signature(key, head.base_seq, head.base_hash, head.base_time, head.purged_at),
            head.base_signature,
        )
        for key in keys.audit_keys.values()
    )


def _purged_too_early(head: AuditHead, anchors: AnchorSet | None, now: dt.datetime) -> str | None:
    """Why the purge that made the chain's base removed entries inside the minimum
    retention, if it did.

    A timed base says (signed) when its entry was written and when it was purged.
    A base from before timed bases is judged by the anchors: one at or below the
    base written within the minimum retention of now names an entry that was at
    most that old when purged (the server anchors an entry within seconds of its
    commit; only a verify or purge run over a log idle for six months anchors an
    older one)."""
    if not head.base_seq:
        return None
    if head.base_time is not None and head.purged_at is not None:
        if head.purged_at > now + CLOCK_SKEW:
            return f"the purge checkpoint at entry {head.base_seq} is dated in the future"
        if head.purged_at - head.base_time < MIN_RETENTION:
            age = head.purged_at - head.base_time
            return (
                f"entries up to {head.base_seq} were purged at {_stamp(head.purged_at)} when "
                f"entry {head.base_seq} was {age.days} days old, inside the minimum retention "
                f"of {MIN_RETENTION_DAYS} days: the log was purged too early"
            )
        return None
    recent = [
        a
        for seq, a in (anchors.by_seq.items() if anchors is not None else ())
        if seq <= head.base_seq and now - _anchor_time(a.time) < MIN_RETENTION
    ]
    if recent:
        first = min(recent, key=lambda a: a.seq)
        return (
            f"entry {first.seq} was anchored at {first.time} (line {first.line}) and has been "
            f"purged, inside the minimum retention of {MIN_RETENTION_DAYS} days: the log "
            "was purged too early"
        )
    return None


def _anchor_time(stamp: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)  # unreadable: treat as recent
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class AuditChain:
    """Appends entries; each records the audit key version it is hashed with, so the
    chain stays verifiable across key rotations (the source's ring is read per append)."""

    def __init__(self, keys: Cipher | KeyRing, *, anchors: AnchorWriter | None = None) -> None:
        self._source = keys
        self._lock = asyncio.Lock()
        self._head: tuple[int, str] | None = None
        self._anchors = anchors
        # appended but not yet known to be committed: only committed entries are anchored
        self._in_flight: dict[int, str] = {}

    async def append(
        self, conn: AsyncSession | AsyncConnection | Reads, entry: dict[str, Any]
    ) -> int:
        """Append one entry in the caller's transaction; returns its sequence number."""
        return (await self.append_batch(conn, [entry]))[0]

    async def append_batch(
        self, conn: AsyncSession | AsyncConnection | Reads, entries: list[dict[str, Any]]
    ) -> list[int]:
        """Append entries in order, all in the caller's transaction (on the hot-path pool,
        one statement): all of them or none. Returns their sequence numbers."""
        ring = self._source.keys if isinstance(self._source, Cipher) else self._source
        version = ring.current_version
        key = ring.audit_keys[version]
        bodies = [canonical({**entry, F.KEY_VERSION: version}) for entry in entries]
        async with self._lock:
            for _ in range(MAX_ATTEMPTS):
                if self._head is None:
                    self._head = await _read_head(conn)
                prev_seq, prev_hash = self._head
                rows: list[dict[str, Any]] = []
                for entry, body in zip(entries, bodies, strict=True):
                    seq = prev_seq + len(rows) + 1
                    link = rows[-1]["hash"] if rows else prev_hash
                    rows.append(_row(entry, body, seq, link, entry_hash(key, link, seq, body)))
                last = rows[-1]
                head = {
                    "seq": last["seq"],
                    "prev_seq": prev_seq,
                    "hash": last["hash"],
                    "signature": head_signature(key, last["seq"], last["hash"]),
                }
                if await self._write(conn, head, rows):
                    self._head = (last["seq"], last["hash"])
                    if self._anchors is not None:
                        for row in rows:
                            self._in_flight[row["seq"]] = row["hash"]
                        while len(self._in_flight) > MAX_IN_FLIGHT:  # a caller that never said
                            del self._in_flight[next(iter(self._in_flight))]
                    return [row["seq"] for row in rows]
                self._head = None  # another process appended first: start from its head
        raise RuntimeError("could not append to the audit chain")

    def forget_head(self) -> None:
        """After a rolled-back transaction the cached head may be one that never committed."""
        self._head = None
        self._in_flight.clear()

    def committed(self, seq: int) -> None:
        """The caller committed entry `seq`: it may now be anchored outside the database.

        Entries commit in sequence order (each append waits for the head row the
        one before it moved), so a committed entry implies all before it are."""
        digest = self._in_flight.pop(seq, None)
        if digest is not None and self._anchors is not None:
            self._anchors.committed(seq, digest)

    async def _write(
        self,
        conn: AsyncSession | AsyncConnection | Reads,
        head: dict[str, Any],
        rows: list[dict[str, Any]],
    ) -> bool:
        if isinstance(conn, Reads):  # PostgreSQL's hot-path pool, autocommit
            return bool(await conn.scalar(_PG_APPEND, **_pg_values(head, rows)))
        dialect = conn.get_bind().dialect if isinstance(conn, AsyncSession) else conn.dialect
        if dialect.name == "postgresql":
            return bool((await conn.execute(_PG_APPEND, _pg_values(head, rows))).scalar_one())
        moved = await conn.execute(
            update(AuditHead)
            .where(AuditHead.id == 1, AuditHead.seq == head["prev_seq"])
            .values(seq=head["seq"], hash=head["hash"], signature=head["signature"])
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
        columns = ("seq", "time", "principal", "role", "outcome", "credential_id", "entry")
        await conn.execute(
            insert(AuditEntry),
            [
                {**{c: row[c] for c in columns}, "prev_hash": row["link"], "hash": row["hash"]}
                for row in rows
            ],
        )
        touched = [{"seq": row["seq"], "archive_no": a} for row in rows for a in row["archives"]]
        if touched:
            await conn.execute(insert(AuditArchive), touched)
        return True


def _row(entry: dict[str, Any], body: bytes, seq: int, link: str, digest: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "link": link,
        "hash": digest,
        "time": dt.datetime.fromisoformat(entry[F.TIME]),
        "principal": entry[F.PRINCIPAL],
        "role": entry[F.ROLE],
        "outcome": entry[F.OUTCOME],
        "credential_id": entry.get(F.CREDENTIAL_ID),
        "entry": body.decode(),
        "archives": [*entry[F.ARCHIVE_NOS], *sorted(search_keys(entry))],
    }


def _pg_values(head: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **head,
        "seqs": [r["seq"] for r in rows],
        "times": [r["time"] for r in rows],
        "principals": [r["principal"] for r in rows],
        "roles": [r["role"] for r in rows],
        "outcomes": [r["outcome"] for r in rows],
        "entries": [r["entry"] for r in rows],
        "prev_hashes": [r["link"] for r in rows],
        "hashes": [r["hash"] for r in rows],
        "credential_ids": [r["credential_id"] for r in rows],
        "archive_seqs": [r["seq"] for r in rows for _ in r["archives"]],
        "archive_nos": [a for r in rows for a in r["archives"]],
    }


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int
    first_bad: int | None = None
    reason: str | None = None
    warning: str | None = None  # intact, but something the operator should look at
    head: tuple[int, str] | None = None  # what was verified, to anchor it


async def _entries(session: AsyncSession, up_to: int) -> AsyncIterator[AuditEntry]:
    result = await session.stream_scalars(
        select(AuditEntry).where(AuditEntry.seq <= up_to).order_by(AuditEntry.seq)
    )
    async for row in result:
        yield row


async def verify(
    session: AsyncSession,
    keys: KeyRing,
    *,
    anchor_file: Path | None = None,
    now: dt.datetime | None = None,
    allow_unanchored: bool = False,
) -> Verification:
    """Recompute the chain from the first entry; name the first entry that does not hold.

    With an anchor file, every entry anchored outside the database must still be
    in the chain (or inside a signed purge base) with the hash it had."""
    # the anchors before the head: anchors name committed entries only, so each one
    # read now is at or below the head read next, even while servers keep appending
    anchors = None
    if anchor_file is not None:
        anchors = await asyncio.to_thread(read_anchors, anchor_file, keys)
        if anchors.problem is not None:
            return Verification(False, 0, None, anchors.problem)
    result = await _verify_chain(session, keys, anchors, now or dt.datetime.now(dt.UTC))
    if not result.ok or anchors is None:
        return result
    if result.head is None and not anchors.by_seq:
        # an empty log and no anchor: a fresh installation, or a wipe whose anchors
        # were taken away too. The rest of the database tells which.
        history = await _history_before(session, (now or dt.datetime.now(dt.UTC)) - SETTLED)
        if history is not None:
            what = "missing" if anchors.missing else "empty"
            message = (
                f"the audit log is empty and the anchor file is {what}, but the database "
                f"holds {history}: the log may have been wiped with its anchors"
            )
            if not allow_unanchored:
                return Verification(False, 0, 1, message)
            return Verification(True, 0, warning=message + " (accepted: --allow-unanchored)")
        return result
    if anchors.missing and result.head is not None:
        warning: str | None = (
            "the anchor file is missing: a wiped or rolled-back log cannot be "
            "detected until anchors are written"
        )
    else:
        warning = anchors.warning
    return Verification(True, result.entries, warning=warning, head=result.head)


SETTLED = dt.timedelta(minutes=10)


async def _history_before(session: AsyncSession, before: dt.datetime) -> str | None:
    """What shows the installation was in use before `before`, if anything does: any
    request then would have left audit entries (and anchors). Credentials carry the
    time they were issued; households do not serve (seeded or migrated archives
    carry their own, historical dates)."""
    checks = (
        ("credentials issued", select(func.count()).where(Credential.created_at < before)),
        ("policy changes", select(func.count()).where(PolicyState.version > 1)),
    )
    for what, query in checks:
        if await session.scalar(query):
            return f"{what} before {_stamp(before)}"
    return None


def _anchors_hold(anchors: AnchorSet | None, head: AuditHead, count: int) -> Verification | None:
    """A failure when the chain no longer reaches, or no longer holds, what was anchored."""
    newest = anchors.newest if anchors is not None else None
    if newest is None:
        return None
    if newest.seq > head.seq:
        what = "the log is empty" if head.seq == 0 else f"the log ends at entry {head.seq}"
        return Verification(
            False,
            count,
            head.seq + 1,
            f"{what} but entry {newest.seq} was anchored at {newest.time} "
            f"(line {newest.line}): entries {head.seq + 1} to {newest.seq} are missing; "
            "the log was wiped, rolled back or cut",
        )
    at_base = anchors.by_seq.get(head.base_seq) if anchors is not None else None
    if head.base_seq and at_base is not None and at_base.hash != head.base_hash:
        return Verification(
            False,
            count,
            head.base_seq,
            f"the purge checkpoint at entry {head.base_seq} differs from its anchor "
            f"(line {at_base.line})",
        )
    return None


async def _verify_chain(
    session: AsyncSession, keys: KeyRing, anchors: AnchorSet | None, now: dt.datetime
) -> Verification:
    anchored = anchors.by_seq if anchors is not None else {}
    # the head first: an entry and the head move in one statement (or transaction),
    # so every entry up to the head's sequence is committed and can be checked
    # while other requests keep appending past it
    head = (await session.execute(select(AuditHead))).scalar_one()
    archives: dict[int, set[str]] = {}
    rows = await session.execute(
        select(AuditArchive.seq, AuditArchive.archive_no).where(AuditArchive.seq <= head.seq)
    )
    for seq, archive_no in rows.all():
        archives.setdefault(int(seq), set()).add(archive_no)
    prev_hash, expected, count = head.base_hash, head.base_seq + 1, 0
    if head.base_seq and not _base_holds(keys, head):
        return Verification(
            False, 0, head.base_seq + 1, "the purge checkpoint's signature is wrong"
        )
    too_early = _purged_too_early(head, anchors, now)
    if too_early is not None:
        return Verification(False, 0, head.base_seq, too_early)
    async for row in _entries(session, head.seq):
        if row.seq != expected:
            return Verification(False, count, expected, f"entry {expected} is missing")
        if row.prev_hash != prev_hash:
            return Verification(
                False, count, row.seq, f"entry {row.seq} does not follow entry {row.seq - 1}"
            )
        body = row.entry.encode()
        try:
            entry = orjson.loads(body)
            key = keys.audit_keys[int(entry.get(F.KEY_VERSION, 1))]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return Verification(False, count, row.seq, f"entry {row.seq} is not readable")
        if not hmac.compare_digest(entry_hash(key, prev_hash, row.seq, body), row.hash):
            return Verification(False, count, row.seq, f"entry {row.seq} was altered")
        anchor = anchored.get(row.seq)
        if anchor is not None and anchor.hash != row.hash:
            return Verification(
                False,
                count,
                row.seq,
                f"entry {row.seq} differs from its anchor (line {anchor.line})",
            )
        columns_agree = (
            entry[F.PRINCIPAL] == row.principal
            and entry[F.ROLE] == row.role
            and entry[F.OUTCOME] == row.outcome
            and dt.datetime.fromisoformat(entry[F.TIME]) == row.time
            # the credential column is what "who took this" is searched and alerted by
            # (auditEvents, lookups, misuse scans): moving an entry to another credential
            # must break verification like editing its principal does
            and entry.get(F.CREDENTIAL_ID) == row.credential_id
            and set(entry[F.ARCHIVE_NOS]) | search_keys(entry) == archives.pop(row.seq, set())
        )
        if not columns_agree:
            return Verification(
                False, count, row.seq, f"entry {row.seq}: indexed columns were altered"
            )
        prev_hash, expected, count = row.hash, expected + 1, count + 1
    if archives:
        orphan = min(archives)
        return Verification(False, count, orphan, f"archive index rows for missing entry {orphan}")
    last = expected - 1
    # anchors below a signed purge base were legitimately purged with their entries
    lost = _anchors_hold(anchors, head, count)
    if lost is not None:
        return lost
    signed = signature_holds(keys, head.signature, head.seq, head.hash, kind="head")
    if head.seq == 0 and last == 0 and head.hash == GENESIS:  # no anchor exists (checked above)
        return Verification(True, 0)
    if not signed:
        return Verification(False, count, head.seq, "the head checkpoint's signature is wrong")
    if head.seq != last or head.hash != prev_hash:
        return Verification(
            False, count, last + 1, f"the log ends at entry {last} but the head says {head.seq}"
        )
    # entries past the head that no append put there (one statement: one snapshot)
    beyond = select(func.count()).where(AuditEntry.seq > AuditHead.seq).scalar_subquery()
    stray = (await session.execute(select(AuditHead.seq, beyond).where(AuditHead.id == 1))).one()
    if stray[1]:
        return Verification(False, count, int(stray[0]) + 1, "entries beyond the signed head")
    return Verification(True, count, head=(head.seq, head.hash))


async def retention_days(session: AsyncSession) -> int:
    """The retention window, refused when the table says less than the legal minimum."""
    days = await session.scalar(select(AuditRetention.days).where(AuditRetention.id == 1))
    if days is None or int(days) < MIN_RETENTION_DAYS:
        raise RetentionTampered(
            f"the audit_retention table says {days} days, below the legal minimum of "
            f"{MIN_RETENTION_DAYS}: it was changed around its CHECK constraint (tampering); "
            f"nothing was purged. Set it back (dibao audit retention needs >= "
            f"{MIN_RETENTION_DAYS}) and find out who changed it"
        )
    return int(days)


async def purge(session: AsyncSession, keys: KeyRing, *, now: dt.datetime) -> int:
    """Delete the oldest entries past the retention window; returns how many.

    Only a prefix of the chain goes, so what remains is still one chain; its
    new starting point is signed, with when its entry was written and when it
    was purged, so a deletion beyond it, or a purge inside the minimum
    retention, is still detected. The window is never shorter than the legal
    minimum, whatever the retention table says (a table below it is refused as
    tampering), and the database triggers refuse anything inside it as well.
    """
    days = max(await retention_days(session), MIN_RETENTION_DAYS)
    cutoff = now - dt.timedelta(days=days, minutes=1)
    head = (await session.execute(select(AuditHead).with_for_update())).scalar_one()
    first_kept = await session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.time >= cutoff)
    )
    last_purged = (int(first_kept) - 1) if first_kept is not None else head.seq
    if last_purged <= head.base_seq:
        return 0
    base = (
        await session.execute(
            select(AuditEntry.hash, AuditEntry.entry).where(AuditEntry.seq == last_purged)
        )
    ).one_or_none()
    if base is None:
        raise RuntimeError("the audit chain is broken; run dibao audit verify")
    # the time the entry itself carries (under its hash), not the indexed column
    base_time = dt.datetime.fromisoformat(orjson.loads(base.entry)[F.TIME])
    if base_time.tzinfo is None:
        base_time = base_time.replace(tzinfo=dt.UTC)
    if now - base_time < MIN_RETENTION:
        raise RetentionTampered(
            f"entry {last_purged} is inside the minimum retention of {MIN_RETENTION_DAYS} "
            "days though its indexed time says otherwise (tampering); nothing was purged"
        )
    removed = await session.execute(
        delete(AuditEntry).where(AuditEntry.seq <= last_purged, AuditEntry.seq > head.base_seq)
    )
    await session.execute(delete(AuditArchive).where(AuditArchive.seq <= last_purged))
    head.base_seq, head.base_hash = last_purged, str(base.hash)
    head.base_time, head.purged_at = base_time, now
    head.base_signature = base_signature(
        keys.audit_key, last_purged, str(base.hash), base_time, now
    )
    await session.flush()
    return int(removed.rowcount)  # type: ignore[attr-defined]
