"""The permission review's reads: credentials' use from the audit log, the review
lists, the policy's differences from the shipped one, and the recorded reviews.

Usage is read by the index on (credential_id, time) of audit_entries: a credential's
last use is one index probe from its end, its requests in the window one index range,
the households it read that range joined to audit_archives by primary key. A batch of
credentials is two statements, whatever its size (chunks of CHUNK ids).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.review import USAGE_DAYS
from store.models import AuditArchive, AuditEntry, Credential, PermissionReview, PolicyHistory
from store.policy import load_rules, rule_key

CHUNK = 500  # ids per IN list, well inside every driver's parameter limit
# items of one review list, oldest (or soonest) first: the four lists fit one
# document's cost with their usage figures; more than this is a finding in itself
MAX_LISTED = 500
MAX_DIFFERENCES = 500
# audit_archives rows keyed `ix:` are lookups by blind index (audit/lookups.py), not archives
LOOKUP_KEY_PREFIX = "ix:"
# the outcomes of a request that read what it asked for, masked or not (audit/fields.py): a
# refused attempt names the household too, but read nothing of it
READ_OUTCOMES = ("allowed", "masked")


@dataclass(frozen=True, slots=True)
class CredentialUsage:
    last_used_at: dt.datetime | None = None
    requests: int = 0  # audited requests in the window
    households: int = 0  # distinct archive numbers read or changed in the window (not refused)
    first_archive: str | None = None  # least and greatest of them, for the region they span
    last_archive: str | None = None


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


async def credential_usage(
    session: AsyncSession, *, ids: Sequence[str], now: dt.datetime
) -> dict[str, CredentialUsage]:
    """Each credential's last use and its figures over the last USAGE_DAYS days."""
    since = now - dt.timedelta(days=USAGE_DAYS)
    found: dict[str, CredentialUsage] = {}
    for chunk in _chunks(sorted(set(ids))):
        entries = AuditEntry.__table__.alias("e")
        last_used = (
            select(func.max(entries.c.time))
            .where(entries.c.credential_id == Credential.id)
            .scalar_subquery()
        )
        requests = (
            select(func.count())
            .select_from(entries)
            .where(entries.c.credential_id == Credential.id, entries.c.time >= since)
            .scalar_subquery()
        )
        usage = await session.execute(
            select(Credential.id, last_used, requests).where(Credential.id.in_(chunk))
        )
        for credential_id, last, count in usage.all():
            found[credential_id] = CredentialUsage(last_used_at=last, requests=int(count or 0))
        archives = await session.execute(
            select(
                AuditEntry.credential_id,
                func.count(func.distinct(AuditArchive.archive_no)),
                func.min(AuditArchive.archive_no),
                func.max(AuditArchive.archive_no),
            )
            .join(AuditArchive, AuditArchive.seq == AuditEntry.seq)
            .where(
                AuditEntry.credential_id.in_(chunk),
                AuditEntry.time >= since,
                AuditEntry.outcome.in_(READ_OUTCOMES),
                ~AuditArchive.archive_no.startswith(LOOKUP_KEY_PREFIX),
            )
            .group_by(AuditEntry.credential_id)
        )
        for credential_id, households, first, last in archives.all():
            if credential_id is None:
                continue
            seen = found.get(credential_id, CredentialUsage())
            found[credential_id] = CredentialUsage(
                last_used_at=seen.last_used_at,
                requests=seen.requests,
                households=int(households),
                first_archive=first,
                last_archive=last,
            )
    return found


def _live(now: dt.datetime) -> ColumnElement[bool]:
    return and_(Credential.revoked_at.is_(None), Credential.expires_at > now)


async def unused_credentials(
    session: AsyncSession, *, now: dt.datetime, days: int
) -> Sequence[Credential]:
    """Live credentials with no audited request in the last `days` days (issued before)."""
    cutoff = now - dt.timedelta(days=days)
    used = exists().where(AuditEntry.credential_id == Credential.id, AuditEntry.time >= cutoff)
    result = await session.scalars(
        select(Credential)
        .where(_live(now), Credential.created_at < cutoff, ~used)
        .order_by(Credential.created_at, Credential.id)
        .limit(MAX_LISTED)
    )
    return result.all()


async def expiring_credentials(
    session: AsyncSession, *, now: dt.datetime, days: int
) -> Sequence[Credential]:
    result = await session.scalars(
        select(Credential)
        .where(_live(now), Credential.expires_at <= now + dt.timedelta(days=days))
        .order_by(Credential.expires_at, Credential.id)
        .limit(MAX_LISTED)
    )
    return result.all()


async def wide_credentials(
    session: AsyncSession, *, now: dt.datetime, wider_than: int
) -> Sequence[Credential]:
    """Live credentials whose scope is shorter than `wider_than` digits ("" national)."""
    result = await session.scalars(
        select(Credential)
        .where(_live(now), func.length(Credential.region_scope) < wider_than)
        .order_by(Credential.created_at, Credential.id)
        .limit(MAX_LISTED)
    )
    return result.all()


@dataclass(frozen=True, slots=True)
class PolicyDifference:
    change: str  # added (in force, not shipped) | removed (shipped, not in force)
    rule: tuple[str, ...]
    changed_by: str | None  # None: no recorded change made it (edited outside the API)
    changed_at: dt.datetime | None


async def policy_differences(
    session: AsyncSession, *, shipped: Sequence[Sequence[str]]
) -> list[PolicyDifference]:
    """Every rule in force that the shipped policy lacks and every shipped rule not in
    force, each with the last recorded change of that rule."""
    _, current = await load_rules(session)
    current_keys = {rule_key(rule): tuple(rule) for rule in current}
    shipped_keys = {rule_key(rule): tuple(rule) for rule in shipped}
    differing = [
        ("added", key, rule) for key, rule in current_keys.items() if key not in shipped_keys
    ]
    differing += [
        ("removed", key, rule) for key, rule in shipped_keys.items() if key not in current_keys
    ]
    differing = differing[:MAX_DIFFERENCES]
    last: dict[str, PolicyHistory] = {}
    for chunk in _chunks([key for _, key, _ in differing]):
        rows = await session.scalars(
            select(PolicyHistory).where(PolicyHistory.rule.in_(chunk)).order_by(PolicyHistory.id)
        )
        for found in rows:
            last[found.rule] = found
    differences = []
    for change, key, rule in differing:
        # only a change that left the rule as it stands explains it
        row = last.get(key)
        made = row is not None and row.change == ("add" if change == "added" else "remove")
        differences.append(
            PolicyDifference(
                change=change,
                rule=rule,
                changed_by=row.actor if made and row else None,
                changed_at=row.at if made and row else None,
            )
        )
    # newest change first; differences no recorded change explains come last
    dated = sorted((d for d in differences if d.changed_at), key=_when, reverse=True)
    return dated + [d for d in differences if d.changed_at is None]


def _when(difference: PolicyDifference) -> dt.datetime:
    assert difference.changed_at is not None
    return difference.changed_at


async def record_review(
    session: AsyncSession,
    *,
    reviewer: str,
    role: str,
    note: str,
    summary: dict[str, int],
    now: dt.datetime,
) -> PermissionReview:
    row = PermissionReview(at=now, reviewer=reviewer, role=role, note=note, summary=summary)
    session.add(row)
    await session.flush()
    return row


async def reviews_page(
    session: AsyncSession, *, first: int, after_id: int | None
) -> list[PermissionReview]:
    """Newest first; one more than `first` tells whether a next page exists."""
    query = select(PermissionReview).order_by(PermissionReview.id.desc()).limit(first + 1)
    if after_id is not None:
        query = query.where(PermissionReview.id < after_id)
    return list((await session.scalars(query)).all())


async def last_review(session: AsyncSession) -> PermissionReview | None:
    return await session.scalar(
        select(PermissionReview).order_by(PermissionReview.id.desc()).limit(1)
    )
