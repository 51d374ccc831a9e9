"""Misuse alerts as the security officers read them (issue 17)."""

from __future__ import annotations

import datetime as dt

import strawberry

from domain.alerts import MAX_EVIDENCE
from resolvers.alerts import Threshold
from schema.enums import AlertRule, AlertStatus
from schema.pricing import priced
from store.models import Alert as AlertRow


@strawberry.type(
    description="A misuse alert (滥用告警): one rule, one principal, one clock hour, with "
    "the audit entries it rests on."
)
class Alert:
    id: strawberry.ID
    rule: AlertRule
    principal: str
    role: str
    window_start: dt.datetime = strawberry.field(description="The hour counted (UTC).")
    count: int
    evidence: list[int] = strawberry.field(
        description="Sequence numbers of the audit entries it rests on (auditEvents).",
        metadata=priced(bound=MAX_EVIDENCE),
    )
    raised_at: dt.datetime
    status: AlertStatus
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    note: str | None

    @classmethod
    def from_row(cls, row: AlertRow) -> Alert:
        return cls(
            id=strawberry.ID(row.id),
            rule=AlertRule(row.rule),
            principal=row.principal,
            role=row.role,
            window_start=row.window_start,
            count=row.count,
            evidence=list(row.evidence),
            raised_at=row.raised_at,
            status=AlertStatus(row.status),
            acknowledged_by=row.acknowledged_by,
            acknowledged_at=row.acknowledged_at,
            note=row.note,
        )


@strawberry.type(
    description="A misuse rule's threshold for a role (`*`: every other role); 0: off."
)
class AlertThreshold:
    rule: AlertRule
    role: str
    threshold: int

    @classmethod
    def from_threshold(cls, t: Threshold) -> AlertThreshold:
        return cls(rule=t.rule, role=t.role, threshold=t.threshold)
