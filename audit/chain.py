"""The hash chain: appending entries and verifying the whole log.

Each entry's hash is HMAC-SHA256(key, prev_hash | seq | canonical entry); the
single `audit_head` row holds the newest (seq, hash) signed with the same key,
so deleting or rewriting the tail is detected as well as any edit, deletion,
insertion or reordering inside the chain.

Appends from one process are serialised by a lock and use a cached head, so on
PostgreSQL an append is one statement: it moves the head only if it is still
where this process last saw it, and inserts the entry in the same statement.
When another process moved the head first, the statement writes nothing and
the append is retried from the head as it now is.
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
from sqlalchemy import String, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from audit import fields as F
from audit.anchors import AnchorSet, AnchorWriter, read_anchors
from audit.lookups import search_keys
from audit.record import canonical
from store.crypto import Cipher, KeyRing
from store.fastread import Reads
from store.models import AuditArchive, AuditEntry, AuditHead, AuditRetention
from store.types import UtcDateTime

GENESIS = "0" * 64
MAX_ATTEMPTS = 100
MAX_IN_FLIGHT = 1024

_PG_APPEND = text(
    """
    WITH moved AS (
        UPDATE audit_head SET seq = :seq, hash = :hash, signature = :signature
        WHERE id = 1 AND seq = :prev_seq
        RETURNING seq
    ), written AS (
        INSERT INTO audit_entries (seq, time, principal, role, outcome, entry, prev_hash, hash)
        SELECT :seq, :time, :principal, :role, :outcome, :entry, :prev_hash, :hash FROM moved
        RETURNING seq
    ), touched AS (
        INSERT INTO audit_archives (seq, archive_no)
        SELECT written.seq, a FROM written, unnest(:archives) AS a
        RETURNING 1
    )
    SELECT count(*) FROM written
    """
).bindparams(bindparam("time", type_=UtcDateTime()), bindparam("archives", type_=ARRAY(String)))


async def _read_head(conn: AsyncSession | AsyncConnection | Reads) -> tuple[int, str]:
    if isinstance(conn, Reads):
        rows = await conn.all("audit.head", lambda: select(AuditHead.seq, AuditHead.hash))
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
        ring = self._source.keys if isinstance(self._source, Cipher) else self._source
        version = ring.current_version
        body = canonical({**entry, F.KEY_VERSION: version})
        key = ring.audit_keys[version]
        async with self._lock:
            for _ in range(MAX_ATTEMPTS):
                if self._head is None:
                    self._head = await _read_head(conn)
                prev_seq, prev_hash = self._head
                seq = prev_seq + 1
                digest = entry_hash(key, prev_hash, seq, body)
                values = {
                    "seq": seq,
                    "prev_seq": prev_seq,
                    "prev_hash": prev_hash,
                    "hash": digest,
                    "signature": head_signature(key, seq, digest),
                    "time": dt.datetime.fromisoformat(entry[F.TIME]),
                    "principal": entry[F.PRINCIPAL],
                    "role": entry[F.ROLE],
                    "outcome": entry[F.OUTCOME],
                    "entry": body.decode(),
                    "archives": [*entry[F.ARCHIVE_NOS], *sorted(search_keys(entry))],
                }
                if await self._write(conn, values):
                    self._head = (seq, digest)
                    if self._anchors is not None:
                        self._in_flight[seq] = digest
                        if len(self._in_flight) > MAX_IN_FLIGHT:  # a caller that never said
                            del self._in_flight[next(iter(self._in_flight))]
                    return seq
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
        self, conn: AsyncSession | AsyncConnection | Reads, values: dict[str, Any]
    ) -> bool:
        if isinstance(conn, Reads):  # PostgreSQL's hot-path pool, autocommit
            return bool(await conn.scalar("audit.append", lambda: _PG_APPEND, **values))
        dialect = conn.get_bind().dialect if isinstance(conn, AsyncSession) else conn.dialect
        if dialect.name == "postgresql":
            return bool((await conn.execute(_PG_APPEND, values)).scalar_one())
        moved = await conn.execute(
            update(AuditHead)
            .where(AuditHead.id == 1, AuditHead.seq == values["prev_seq"])
            .values(seq=values["seq"], hash=values["hash"], signature=values["signature"])
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await conn.execute(
            insert(AuditEntry).values(
                seq=values["seq"],
                time=values["time"],
                principal=values["principal"],
                role=values["role"],
                outcome=values["outcome"],
                entry=values["entry"],
                prev_hash=values["prev_hash"],
                hash=values["hash"],
            )
        )
        if values["archives"]:
            await conn.execute(
                insert(AuditArchive),
                [{"seq": values["seq"], "archive_no": a} for a in values["archives"]],
            )
        return True


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
    session: AsyncSession, keys: KeyRing, *, anchor_file: Path | None = None
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
    result = await _verify_chain(session, keys, anchors)
    if not result.ok or anchors is None:
        return result
    if anchors.missing and result.head is not None:
        warning: str | None = (
            "the anchor file is missing: a wiped or rolled-back log cannot be "
            "detected until anchors are written"
        )
    else:
        warning = anchors.warning
    return Verification(True, result.entries, warning=warning, head=result.head)


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
    session: AsyncSession, keys: KeyRing, anchors: AnchorSet | None
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
    if head.base_seq and not signature_holds(
        keys, head.base_signature, head.base_seq, head.base_hash, kind="base"
    ):
        return Verification(
            False, 0, head.base_seq + 1, "the purge checkpoint's signature is wrong"
        )
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


async def purge(session: AsyncSession, keys: KeyRing, *, now: dt.datetime) -> int:
    """Delete the oldest entries past the retention window; returns how many.

    Only a prefix of the chain goes, so what remains is still one chain; its
    new starting point is signed, so a deletion beyond it is still detected.
    The database triggers refuse anything inside the window whatever we ask.
    """
    days = await session.scalar(select(AuditRetention.days).where(AuditRetention.id == 1))
    cutoff = now - dt.timedelta(days=int(days or 0), minutes=1)
    head = (await session.execute(select(AuditHead).with_for_update())).scalar_one()
    first_kept = await session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.time >= cutoff)
    )
    last_purged = (int(first_kept) - 1) if first_kept is not None else head.seq
    if last_purged <= head.base_seq:
        return 0
    base_hash = await session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last_purged))
    if base_hash is None:
        raise RuntimeError("the audit chain is broken; run dibao audit verify")
    removed = await session.execute(
        delete(AuditEntry).where(AuditEntry.seq <= last_purged, AuditEntry.seq > head.base_seq)
    )
    await session.execute(delete(AuditArchive).where(AuditArchive.seq <= last_purged))
    head.base_seq, head.base_hash = last_purged, base_hash
    head.base_signature = sign(keys, last_purged, base_hash, kind="base")
    await session.flush()
    return int(removed.rowcount)  # type: ignore[attr-defined]
