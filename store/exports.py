"""The rows exports are written from, streamed, and the register of exports taken.

Every statement carries the caller's region scope, as every read of the archive
does: a batch or a region outside it yields nothing, exactly as one that does not
exist. Rows come in chunks from a server-side cursor (`yield_per`), so a county of
a hundred thousand households is never held in memory at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import tempfile
from collections.abc import AsyncIterator, Generator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from domain.assessment import StepRecord
from domain.calendar import beijing_day
from domain.enums import HouseholdStatus, PaymentStatus, Relation
from domain.errors import NotFound
from domain.exports import MOVEMENTS, BankLine, LineProblem
from store import locks
from store.crypto import Cipher
from store.households import code_prefix, in_scope
from store.models import (
    AuditEntry,
    Base,
    Credential,
    Export,
    ExportChunk,
    Household,
    Member,
    Payment,
    PaymentBatch,
    Region,
    Review,
)
from store.payments import county_overlaps

CHUNK = 1000  # rows per fetch from the cursor, and per hand-off to the file writer
SEALED = ("exports", "content")  # where a single-blob file (migration 0022) is bound
SEALED_CHUNKS = ("export_chunks", "content")  # where each piece of a file is bound
FILE_CHUNK = 1 << 20  # bytes of the file per sealed piece: what writing and serving hold
Sessions = async_sessionmaker[AsyncSession]
PURGE_BATCH = 200  # exports whose files one purge transaction (and audit entry) deletes
NO_BATCH = "batchId: no such payment batch in your region"


@dataclass(frozen=True, slots=True)
class RollLine:
    payment_id: str
    archive_no: str
    name: str
    id_number: str
    bank_account: str
    bank_name: str
    period: str
    kind: str
    amount: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class PublicLine:
    village: str
    name: str  # in clear here; the writer applies the public list's fixed rule
    size: int
    amount: Decimal


async def find_batch(session: AsyncSession, *, batch_id: str, scope: str) -> PaymentBatch:
    batch = await session.scalar(
        select(PaymentBatch).where(PaymentBatch.id == batch_id, county_overlaps(scope))
    )
    if batch is None:
        raise NotFound(NO_BATCH, field="batchId")
    return batch


def _head_id(archive_no: Any) -> Any:
    """The member a line is paid to: the head, else the first active member (an
    archive whose head died waits for a change report but is still paid)."""
    return (
        select(Member.id)
        .where(Member.archive_no == archive_no, Member.active)
        .order_by(case((Member.relation == Relation.HEAD.value, 0), else_=1), Member.position)
        .limit(1)
        .scalar_subquery()
    )


async def _chunks(session: AsyncSession, stmt: Any) -> AsyncIterator[Sequence[Any]]:
    result = await session.stream(stmt.execution_options(yield_per=CHUNK))
    async for part in result.partitions(CHUNK):
        yield part


def roll_statement(*, batch_id: str, scope: str) -> Any:
    """The roll's one query: a batch's payments in scope, in archive order, with the
    payee's name, ID number and the account the payment goes to (the payment's own,
    copied when it was made). Apart so the export benchmark can show its plan."""
    head = aliased(Member)
    return (
        select(
            Payment.id,
            Payment.archive_no,
            Payment.period,
            Payment.kind,
            Payment.amount,
            Payment.status,
            Payment.bank_account_enc,
            Household.bank_name,
            head.id,
            head.name_enc,
            head.id_number_enc,
        )
        .join(Household, Household.archive_no == Payment.archive_no)
        .outerjoin(head, head.id == _head_id(Payment.archive_no))
        .where(Payment.batch_id == batch_id, in_scope(scope))
        .order_by(Payment.archive_no, Payment.period, Payment.seq)
    )


async def roll_lines(
    session: AsyncSession, cipher: Cipher, *, batch_id: str, scope: str
) -> AsyncIterator[list[RollLine]]:
    """The roll's lines (`roll_statement`), decrypted, a chunk at a time."""
    async for part in _chunks(session, roll_statement(batch_id=batch_id, scope=scope)):
        lines = []
        for pid, archive_no, period, kind, amount, status, account, bank, mid, name, number in part:
            lines.append(
                RollLine(
                    payment_id=pid,
                    archive_no=archive_no,
                    name=""
                    if name is None
                    else cipher.decrypt(name, table="members", column="name", row_id=mid),
                    id_number=""
                    if number is None
                    else cipher.decrypt(number, table="members", column="id_number", row_id=mid),
                    bank_account=""
                    if account is None
                    else cipher.decrypt(
                        account, table="payments", column="bank_account", row_id=pid
                    ),
                    bank_name=bank or "",
                    period=period,
                    kind=kind,
                    amount=amount,
                    status=status,
                )
            )
        yield lines


async def public_lines(
    session: AsyncSession, cipher: Cipher, *, region: str, scope: str
) -> AsyncIterator[list[PublicLine]]:
    """Households receiving the benefit in a region (ACTIVE, or in a gradual exit), by
    village: the village's name, the head's name, the members covered, the amount."""
    head = aliased(Member)
    size = (
        select(func.count(Member.id))
        .where(Member.archive_no == Household.archive_no, Member.active)
        .scalar_subquery()
    )
    stmt = (
        select(Region.name, head.id, head.name_enc, size, Household.monthly_benefit)
        .join(Region, Region.code == Household.village_code)
        .outerjoin(head, head.id == _head_id(Household.archive_no))
        .where(
            in_scope(scope),
            code_prefix(Household.archive_no, region),
            or_(
                Household.status == HouseholdStatus.ACTIVE.value,
                Household.status == HouseholdStatus.GRADUAL_EXIT.value,
            ),
        )
        .order_by(Household.archive_no)
    )
    async for part in _chunks(session, stmt):
        yield [
            PublicLine(
                village=village,
                name=""
                if name is None
                else cipher.decrypt(name, table="members", column="name", row_id=mid),
                size=int(count or 0),
                amount=amount if amount is not None else Decimal("0.00"),
            )
            for village, mid, name, count, amount in part
        ]


async def region_exists(session: AsyncSession, code: str) -> bool:
    return await session.get(Region, code) is not None


async def movements(
    session: AsyncSession, *, scope: str, region: str, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """Households in the region whose review chain recorded each step in [start, end)."""
    rows = await session.execute(
        select(Review.step, func.count(func.distinct(Review.archive_no)))
        .join(Household, Household.archive_no == Review.archive_no)
        .where(
            in_scope(scope),
            code_prefix(Household.archive_no, region),
            Review.step.in_([step for _, step in MOVEMENTS]),
            Review.created_at >= start,
            Review.created_at < end,
        )
        .group_by(Review.step)
    )
    return {step: int(count) for step, count in rows.all()}


async def people(session: AsyncSession, *, scope: str, region: str) -> dict[str, int]:
    """Members of ACTIVE households in the region, by track (保障人数)."""
    rows = await session.execute(
        select(Household.area, func.count(Member.id))
        .join(Member, Member.archive_no == Household.archive_no)
        .where(
            in_scope(scope),
            code_prefix(Household.archive_no, region),
            Household.status == HouseholdStatus.ACTIVE.value,
            Member.active,
        )
        .group_by(Household.area)
    )
    return {area: int(count) for area, count in rows.all()}


async def assessment_steps(
    session: AsyncSession, *, scope: str, region: str, start: dt.datetime, end: dt.datetime
) -> list[StepRecord]:
    """Every recorded step of the region's cases that had a step in [start, end): the
    steps before (to count the days) and after (returns, terminations) come too."""
    touched = (
        select(Review.archive_no)
        .join(Household, Household.archive_no == Review.archive_no)
        .where(
            in_scope(scope),
            code_prefix(Household.archive_no, region),
            Review.created_at >= start,
            Review.created_at < end,
        )
    )
    rows = await session.execute(
        select(
            Review.archive_no,
            Review.step,
            Review.from_status,
            Review.actor,
            Review.actor_role,
            Review.created_at,
            Review.details,
        )
        .where(Review.archive_no.in_(touched))
        .order_by(Review.archive_no, Review.created_at, Review.id)
    )
    return [
        StepRecord(
            archive_no=archive_no,
            step=step,
            from_status=from_status,
            actor=actor,
            actor_role=role,
            on=beijing_day(at),
            at=at,
            reasons=tuple((details or {}).get("reasons") or ()),
        )
        for archive_no, step, from_status, actor, role, at, details in rows.all()
    ]


async def audit_counts(
    session: AsyncSession,
    *,
    principals: Sequence[str],
    region: str,
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, tuple[int, int]]:
    """Per principal: requests audited in [start, end), and those refused or denied,
    made with credentials whose scope lies in `region`: what a principal did under a
    credential of another region is not the assessing county's to see."""
    if not principals:
        return {}
    refused = case((AuditEntry.outcome.in_(("denied", "refused")), 1), else_=0)
    rows = await session.execute(
        select(AuditEntry.principal, func.count(), func.sum(refused))
        .join(Credential, Credential.id == AuditEntry.credential_id)
        .where(
            AuditEntry.principal.in_(sorted(set(principals))),
            AuditEntry.time >= start,
            AuditEntry.time < end,
            Credential.region_scope.startswith(region, autoescape=True),
        )
        .group_by(AuditEntry.principal)
    )
    return {p: (int(n), int(r or 0)) for p, n, r in rows.all()}


# --- the register


class ExportDamaged(Exception):
    """A stored file failed its check: a piece that does not open under its own tag
    and place, a piece missing, or bytes whose SHA-256 or size is not the register's."""


def _piece(stream: IO[bytes], cipher: Cipher, export_id: str, index: int, last: bool) -> bytes:
    table, column = SEALED_CHUNKS
    plain = stream.read(FILE_CHUNK)
    return cipher.seal_chunk(
        plain, table=table, column=column, row_id=export_id, index=index, last=last
    )


async def save_export(session: AsyncSession, cipher: Cipher, row: Export, path: Path) -> Export:
    """The register's row, then the file on disk sealed piece by piece into
    `export_chunks`: one piece of FILE_CHUNK bytes is in memory at a time, whatever
    the file's size. The row's size and SHA-256 are the caller's, of the same file."""
    pieces = max(1, -(-row.size // FILE_CHUNK))
    row.chunks = pieces
    session.add(row)
    await session.flush()
    chunks = Base.metadata.tables[ExportChunk.__tablename__]
    with path.open("rb") as stream:
        for index in range(pieces):
            blob = await asyncio.to_thread(
                _piece, stream, cipher, row.id, index, index == pieces - 1
            )
            # a Core insert: nothing kept in the session's identity map
            await session.execute(
                insert(chunks).values(export_id=row.id, seq=index, content_enc=blob)
            )
    return row


async def claim_export_writer(session: AsyncSession, *, principal: str) -> bool:
    """Whether this transaction may write the principal's export: False while another
    server process's transaction writes one for the same principal. Held until the
    transaction ends, so the day's count read after it cannot miss an export another
    process is still writing (`--workers N`)."""
    return await locks.hold(session, locks.EXPORTS, principal, wait=False)


async def exports_since(session: AsyncSession, *, principal: str, since: dt.datetime) -> int:
    """Exports the principal took since `since` (its allowance of the day)."""
    found = await session.scalar(
        select(func.count())
        .select_from(Export)
        .where(Export.created_at >= since, Export.principal == principal)
    )
    return int(found or 0)


async def export_of(
    session: AsyncSession, *, export_id: str, principal: str, scope: str
) -> Export | None:
    """The caller's own export, taken in a scope inside the caller's: another
    principal's, one from a wider scope, and an unknown id are all the same None."""
    row = await session.scalar(
        select(Export)
        .options(_without_content())
        .where(Export.id == export_id, Export.principal == principal)
    )
    if row is None or not row.scope.startswith(scope):
        return None
    return row


async def _blob(sessions: Sessions, row: Export, index: int) -> bytes | None:
    # a short session per piece: no connection is held for the whole file
    async with sessions() as session:
        if row.chunks is None:  # a single-blob file (migration 0022)
            stmt = select(Export.content_enc).where(Export.id == row.id)
        else:
            stmt = select(ExportChunk.content_enc).where(
                ExportChunk.export_id == row.id, ExportChunk.seq == index
            )
        found: bytes | None = await session.scalar(stmt)
        return found


def _open_piece(cipher: Cipher, row: Export, index: int, blob: bytes) -> bytes:
    """A piece's bytes once its tag verified under its place, or ExportDamaged."""
    try:
        if row.chunks is None:
            table, column = SEALED
            return cipher.open(blob, table=table, column=column, row_id=row.id)
        table, column = SEALED_CHUNKS
        return cipher.open_chunk(
            blob,
            table=table,
            column=column,
            row_id=row.id,
            index=index,
            last=index == row.chunks - 1,
        )
    except (ValueError, InvalidTag, KeyError) as exc:
        raise ExportDamaged(f"piece {index + 1} of {row.chunks or 1} fails its tag") from exc


async def fetch_export(sessions: Sessions, cipher: Cipher, row: Export) -> IO[bytes]:
    """The file's sealed pieces, each opened (its tag verified) and its bytes discarded,
    the whole checked against the register's SHA-256 and size, before a byte is served:
    a damaged, truncated or reordered file is refused whole, not half sent.

    The ciphertext is kept in an anonymous temporary file (gone when closed), which
    `open_pieces` then serves from: what is served is what was checked, whatever
    happens to the database meanwhile. Memory: one piece."""
    spool = tempfile.TemporaryFile(prefix="dibao-export-")  # noqa: SIM115 (returned open)
    try:
        digest = hashlib.sha256()
        size = 0
        for index in range(row.chunks or 1):
            blob = await _blob(sessions, row, index)
            if blob is None:
                raise ExportDamaged(f"piece {index + 1} of {row.chunks or 1} is missing")
            plain = await asyncio.to_thread(_open_piece, cipher, row, index, blob)
            digest.update(plain)
            size += len(plain)
            spool.write(len(blob).to_bytes(4, "big"))
            spool.write(blob)
        if size != row.size or digest.hexdigest() != row.sha256:
            raise ExportDamaged("the bytes are not those the register names")
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def open_pieces(spool: IO[bytes], cipher: Cipher, row: Export) -> Generator[bytes]:
    """The checked file's bytes a piece at a time, each opened again under its tag:
    no plaintext leaves before its piece verified. Closes the spool at the end."""
    with spool:
        for index in range(row.chunks or 1):
            length = int.from_bytes(spool.read(4), "big")
            yield _open_piece(cipher, row, index, spool.read(length))


async def purge_files(
    session: AsyncSession, *, before: dt.datetime, now: dt.datetime, limit: int = PURGE_BATCH
) -> list[str]:
    """Delete the files of up to `limit` exports taken before `before` and not yet
    purged; their register rows stay (who took which file, its SHA-256), marked
    `purged_at`. Rows another purger holds are skipped, not waited for."""
    ids = list(
        await session.scalars(
            select(Export.id)
            .where(Export.created_at <= before, Export.purged_at.is_(None))
            .order_by(Export.created_at, Export.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        await session.execute(delete(ExportChunk).where(ExportChunk.export_id.in_(ids)))
        await session.execute(
            update(Export).where(Export.id.in_(ids)).values(content_enc=None, purged_at=now)
        )
    return ids


async def recent_exports(session: AsyncSession, *, limit: int) -> Sequence[Export]:
    """The newest exports first, without their files (the console's list)."""
    stmt = (
        select(Export)
        .options(_without_content())
        .order_by(Export.created_at.desc(), Export.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


def _without_content() -> Any:
    from sqlalchemy.orm import defer

    return defer(Export.content_enc, raiseload=True)


# --- the bank's result file


async def pending_payments(session: AsyncSession, *, batch_id: str, scope: str) -> dict[str, str]:
    """The batch's payments in scope and their status, locked (PostgreSQL) so that a
    second import of the same file waits and then finds them recorded."""
    stmt = (
        select(Payment.id, Payment.status)
        .join(Household, Household.archive_no == Payment.archive_no)
        .where(Payment.batch_id == batch_id, in_scope(scope))
        .order_by(Payment.id)
        .with_for_update(of=Payment)
    )
    return dict((await session.execute(stmt)).all())


def match_lines(lines: Sequence[BankLine], statuses: dict[str, str]) -> list[LineProblem]:
    """Lines naming no payment of the batch, a payment named twice, or one recorded
    already: each is a problem of its line, and any problem refuses the whole file."""
    problems: list[LineProblem] = []
    seen: dict[str, int] = {}
    for line in lines:
        status = statuses.get(line.payment_id)
        if status is None:
            problems.append(LineProblem(line.line, "付款编号不在该批次中"))
        elif line.payment_id in seen:
            problems.append(LineProblem(line.line, f"与第 {seen[line.payment_id]} 行重复"))
        elif status != PaymentStatus.PENDING.value:
            problems.append(LineProblem(line.line, f"该笔付款已记录为 {status}"))
        seen.setdefault(line.payment_id, line.line)
    return problems


async def record_bank_lines(
    session: AsyncSession, lines: Sequence[BankLine], *, scope: str, now: dt.datetime
) -> int:
    """Record every line (all checked and locked by the caller), in one statement."""
    if not lines:
        return 0
    table = Base.metadata.tables[Payment.__tablename__]
    result = await session.execute(
        update(table)
        .where(
            table.c.id == bindparam("pid"),
            table.c.status == PaymentStatus.PENDING.value,
            table.c.archive_no.in_(select(Household.archive_no).where(in_scope(scope))),
        )
        .values(
            status=bindparam("outcome"),
            bank_reference=bindparam("ref"),
            failure_reason=bindparam("why"),
            updated_at=now,
        ),
        [
            {"pid": x.payment_id, "outcome": x.outcome.value, "ref": x.reference, "why": x.reason}
            for x in lines
        ],
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
