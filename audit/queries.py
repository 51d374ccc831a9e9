"""Reading the audit log: filtered pages for security officers, and export."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditArchive, AuditEntry, AuditHead, AuditVerification


@dataclass(frozen=True, slots=True)
class AuditFilter:
    principal: str | None = None
    role: str | None = None
    archive_no: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    # entries that looked up or claimed a person: audit.lookups search keys
    lookup_keys: tuple[str, ...] | None = None


def _filtered(flt: AuditFilter) -> Select[AuditEntry]:
    stmt = select(AuditEntry)
    if flt.principal is not None:
        stmt = stmt.where(AuditEntry.principal == flt.principal)
    if flt.role is not None:
        stmt = stmt.where(AuditEntry.role == flt.role)
    if flt.outcome is not None:
        stmt = stmt.where(AuditEntry.outcome == flt.outcome)
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.time >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.time < flt.until)
    if flt.archive_no is not None:
        stmt = stmt.where(
            AuditEntry.seq.in_(
                select(AuditArchive.seq).where(AuditArchive.archive_no == flt.archive_no)
            )
        )
    if flt.lookup_keys is not None:
        stmt = stmt.where(
            AuditEntry.seq.in_(
                select(AuditArchive.seq).where(AuditArchive.archive_no.in_(flt.lookup_keys))
            )
        )
    return stmt


async def page_entries(
    session: AsyncSession, *, flt: AuditFilter, first: int, after_seq: int | None
) -> tuple[Sequence[AuditEntry], bool]:
    """Newest first; `after_seq` continues below that sequence number."""
    stmt = _filtered(flt)
    if after_seq is not None:
        stmt = stmt.where(AuditEntry.seq < after_seq)
    rows = (await session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(first + 1))).all()
    return rows[:first], len(rows) > first


async def stream_entries(session: AsyncSession, *, flt: AuditFilter) -> AsyncIterator[AuditEntry]:
    result = await session.stream_scalars(_filtered(flt).order_by(AuditEntry.seq))
    async for row in result:
        yield row


REFUSED_OUTCOMES = (
    "denied",
    "unauthenticated",
    "failed",
    "too_complex",
    "invalid",
    "rate_limited",
)
BEIJING = dt.timezone(dt.timedelta(hours=8))
MAX_ACTIVITY_ROWS = 200_000


async def refused_activity(
    session: AsyncSession, *, since: dt.datetime, until: dt.datetime, hourly: bool, by_role: bool
) -> list[tuple[dt.datetime, str, int]]:
    """Refused and failed requests counted per hour or Beijing day, per principal or role."""
    key_column = AuditEntry.role if by_role else AuditEntry.principal
    rows = await session.execute(
        select(AuditEntry.time, key_column)
        .where(
            AuditEntry.time >= since,
            AuditEntry.time < until,
            AuditEntry.outcome.in_(REFUSED_OUTCOMES),
        )
        .limit(MAX_ACTIVITY_ROWS)
    )
    counts: dict[tuple[dt.datetime, str], int] = {}
    for time, key in rows.all():
        local = time.astimezone(BEIJING)
        start = local.replace(minute=0, second=0, microsecond=0)
        if not hourly:
            start = start.replace(hour=0)
        bucket = (start.astimezone(dt.UTC), key or "(none)")
        counts[bucket] = counts.get(bucket, 0) + 1
    return [(start, key, n) for (start, key), n in sorted(counts.items())]


async def chain_status(session: AsyncSession) -> tuple[int, int, AuditVerification | None]:
    """Entries kept, the head's sequence number, and the last verification run."""
    entries = await session.scalar(select(func.count()).select_from(AuditEntry))
    head_seq = await session.scalar(select(AuditHead.seq).where(AuditHead.id == 1))
    last = await session.scalar(
        select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
    )
    return int(entries or 0), int(head_seq or 0), last
