"""Misuse alerts: the rules of domain/alerts.py run over the audit log as it grows.

A scan reads the entries written since the last one (at most CHUNK), and for every
principal and clock hour they fall in, re-reads that whole hour, so a count never
stops at a scan's edge. An alert is one row per rule, principal and hour: a later
scan of the same hour raises its count and evidence while it is open. The scan's
position is one locked row, so two servers never scan the same entries twice.
Requests without a credential are left to the anonymous rate limit and its
summary entries: an address is not a principal.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import fields as F
from audit.lookups import is_alerting
from domain.alerts import (
    DEFAULT_THRESHOLDS,
    AlertRule,
    AlertStatus,
    Draft,
    EntryFacts,
    evaluate,
    hour_of,
    new_clients,
)
from domain.calendar import WorkingCalendar
from domain.errors import Conflict, NotFound
from store.models import Alert, AlertScan, AlertThreshold, AuditEntry, CredentialClient, new_id

log = logging.getLogger("dibao.audit.alerts")
CHUNK = 5000  # entries read by one scan
SCAN_SECONDS = 60.0  # the rules run within a minute of an entry


def _host(client: Any) -> str | None:
    """The client's address without its port: every new connection has a new port."""
    if not client:
        return None
    host, _, port = str(client).rpartition(":")
    return (host if host and port.isdigit() else str(client))[:100]


def facts(seq: int, time: dt.datetime, body: str) -> EntryFacts | None:
    entry: dict[str, Any] = orjson.loads(body)
    principal = entry.get(F.PRINCIPAL)
    if not principal:
        return None
    lookups: Iterable[dict[str, Any]] = entry.get(F.LOOKUPS) or ()
    return EntryFacts(
        seq=seq,
        time=time,
        principal=str(principal),
        role=str(entry.get(F.ROLE) or ""),
        credential_id=entry.get(F.CREDENTIAL_ID),
        client=_host(entry.get(F.CLIENT)),
        outcome=str(entry.get(F.OUTCOME) or ""),
        archive_nos=tuple(entry.get(F.ARCHIVE_NOS) or ()),
        misses=sum(1 for item in lookups if is_alerting(item)),
    )


async def thresholds(session: AsyncSession) -> dict[tuple[AlertRule, str], int]:
    """The shipped thresholds, with a secadmin's edits over them."""
    found = dict(DEFAULT_THRESHOLDS)
    for row in (await session.scalars(select(AlertThreshold))).all():
        found[(AlertRule(row.rule), row.role)] = row.threshold
    return found


async def _whole_hours(session: AsyncSession, new: Sequence[EntryFacts]) -> list[EntryFacts]:
    """Every entry of each (principal, hour) the new entries fall in."""
    windows = sorted({(e.principal, hour_of(e.time)) for e in new})
    found: list[EntryFacts] = []
    for start in range(0, len(windows), 50):
        part = windows[start : start + 50]
        rows = await session.execute(
            select(AuditEntry.seq, AuditEntry.time, AuditEntry.entry)
            .where(
                or_(
                    *(
                        and_(
                            AuditEntry.principal == principal,
                            AuditEntry.time >= hour,
                            AuditEntry.time < hour + dt.timedelta(hours=1),
                        )
                        for principal, hour in part
                    )
                )
            )
            .order_by(AuditEntry.seq)
        )
        found.extend(f for f in (facts(*row) for row in rows.all()) if f is not None)
    return found


async def _raise(session: AsyncSession, drafts: Sequence[Draft], now: dt.datetime) -> int:
    """Store the drafts: a new alert, or a larger count on the open one of that hour."""
    raised = 0
    if not drafts:
        return 0
    # the alerts already held for these hours, in one read: a superset (any of the
    # principals in any of the hours), matched exactly below
    held_rows = await session.scalars(
        select(Alert).where(
            Alert.principal.in_({d.principal for d in drafts}),
            Alert.window_start.in_({d.window_start for d in drafts}),
        )
    )
    held_by = {(a.rule, a.principal, a.window_start): a for a in held_rows.all()}
    for draft in drafts:
        held = held_by.get((draft.rule.value, draft.principal, draft.window_start))
        if held is None:
            session.add(
                Alert(
                    id=new_id(),
                    rule=draft.rule.value,
                    principal=draft.principal,
                    role=draft.role,
                    window_start=draft.window_start,
                    count=draft.count,
                    evidence=list(draft.evidence),
                    raised_at=now,
                    status=AlertStatus.OPEN.value,
                )
            )
            raised += 1
        elif held.status == AlertStatus.OPEN.value and draft.count > held.count:
            held.count = draft.count
            held.evidence = sorted(set(held.evidence) | set(draft.evidence))[:50]
    return raised


async def scan(
    sessions: async_sessionmaker[AsyncSession], calendar: WorkingCalendar, now: dt.datetime
) -> int:
    """Run the rules over the entries written since the last scan; new alerts raised."""
    async with sessions() as session, session.begin():
        position = await session.scalar(
            select(AlertScan).where(AlertScan.id == 1).with_for_update()
        )
        if position is None:
            position = AlertScan(id=1, last_seq=0)
            session.add(position)
        rows = await session.execute(
            select(AuditEntry.seq, AuditEntry.time, AuditEntry.entry)
            .where(AuditEntry.seq > position.last_seq)
            .order_by(AuditEntry.seq)
            .limit(CHUNK)
        )
        fetched = rows.all()
        if not fetched:
            return 0
        new = [f for f in (facts(*row) for row in fetched) if f is not None]
        limits = await thresholds(session)
        drafts = evaluate(await _whole_hours(session, new), limits, calendar)
        ids = sorted({e.credential_id for e in new if e.credential_id})
        known: dict[str, frozenset[str]] = {}
        for start in range(0, len(ids), 500):
            pairs = await session.execute(
                select(CredentialClient.credential_id, CredentialClient.client).where(
                    CredentialClient.credential_id.in_(ids[start : start + 500])
                )
            )
            for credential, client in pairs.all():
                known[credential] = known.get(credential, frozenset()) | {client}
        clients, first_seen = new_clients(new, known, limits)
        for credential, addresses in first_seen.items():
            for address in sorted(addresses):
                session.add(
                    CredentialClient(credential_id=credential, client=address, first_seen=now)
                )
        raised = await _raise(session, [*drafts, *clients], now)
        position.last_seq = fetched[-1][0]
    if raised:
        log.warning("misuse alerts raised: %d", raised)
    return raised


async def listed(
    session: AsyncSession, *, status: AlertStatus | None, first: int
) -> Sequence[Alert]:
    """The newest alerts first, of one status or all."""
    stmt = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(first)
    if status is not None:
        stmt = stmt.where(Alert.status == status.value)
    return (await session.scalars(stmt)).all()


async def acknowledge(
    session: AsyncSession, *, alert_id: str, note: str, actor: str, now: dt.datetime
) -> Alert:
    alert = await session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None:
        raise NotFound("id: no such alert", field="id")
    if alert.status != AlertStatus.OPEN.value:
        raise Conflict("id: the alert is acknowledged already", field="id")
    if alert.principal == actor:
        # separation of duties: an officer does not clear the alarm raised about themself
        raise Conflict(
            "id: an alert about your own use is acknowledged by another auditor", field="id"
        )
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = actor
    alert.acknowledged_at = now
    alert.note = note
    await session.flush()
    return alert


async def set_threshold(
    session: AsyncSession, *, rule: AlertRule, role: str, value: int, actor: str, now: dt.datetime
) -> dict[tuple[AlertRule, str], int]:
    held = await session.scalar(
        select(AlertThreshold).where(AlertThreshold.rule == rule.value, AlertThreshold.role == role)
    )
    if held is None:
        session.add(
            AlertThreshold(
                rule=rule.value, role=role, threshold=value, updated_by=actor, updated_at=now
            )
        )
    else:
        held.threshold, held.updated_by, held.updated_at = value, actor, now
    await session.flush()
    return await thresholds(session)


async def counts(session: AsyncSession) -> list[tuple[str, str, int]]:
    """Alerts per rule and status, for the metrics endpoint: counts, nothing of anyone."""
    rows = await session.execute(
        select(Alert.rule, Alert.status, func.count()).group_by(Alert.rule, Alert.status)
    )
    return [(rule, status, int(n)) for rule, status, n in rows.all()]
