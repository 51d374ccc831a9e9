"""Finance and standards: payment batches, what a run did, and a new standard's effect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from schema.enums import PaymentStatus
from schema.pricing import priced
from schema.types import Standard
from store import payments as store
from store import standards as standards_store


@strawberry.type(description="What one run of generatePayments did.")
class PaymentBatchResult:
    batch_id: strawberry.ID
    county_code: str
    period: str
    created: int = strawberry.field(description="New PENDING payments for the period.")
    retried: int = strawberry.field(
        description="FAILED payments of earlier periods taken into this batch."
    )
    skipped: int = strawberry.field(
        description="ACTIVE households given no new payment: already paid for the period, "
        "or no positive benefit."
    )
    back_pay: int = strawberry.field(
        description="New BACK_PAY payments (补发): months already paid that a standard "
        "raised from an earlier date made due at more."
    )
    total_amount: Decimal = strawberry.field(
        description="Sum of the batch's payments, back pay and retries included."
    )

    @classmethod
    def from_outcome(cls, outcome: store.BatchOutcome) -> PaymentBatchResult:
        return cls(
            batch_id=strawberry.ID(outcome.batch.id),
            county_code=outcome.batch.county_code,
            period=outcome.batch.period,
            created=outcome.created,
            retried=outcome.retried,
            skipped=outcome.skipped,
            back_pay=outcome.back_pay,
            total_amount=outcome.total_amount,
        )


@strawberry.type(description="Payments of one status in a batch.")
class PaymentStatusTotal:
    status: PaymentStatus
    count: int
    amount: Decimal


@strawberry.type(description="A payment batch and the payments in it, in your region.")
class PaymentBatchSummary:
    id: strawberry.ID
    county_code: str
    period: str
    created_at: dt.datetime
    created_by: str
    count: int
    total_amount: Decimal
    by_status: list[PaymentStatusTotal] = strawberry.field(metadata=priced(bound=3))

    @classmethod
    def from_summary(cls, summary: store.BatchSummary) -> PaymentBatchSummary:
        batch = summary.batch
        return cls(
            id=strawberry.ID(batch.id),
            county_code=batch.county_code,
            period=batch.period,
            created_at=batch.created_at,
            created_by=batch.created_by,
            count=summary.count,
            total_amount=summary.total_amount,
            by_status=[
                PaymentStatusTotal(status=t.status, count=t.count, amount=t.amount)
                for t in summary.by_status
            ],
        )


@strawberry.type(description="A new standard and what it changed.")
class StandardChange:
    standard: Standard
    recomputed: int = strawberry.field(description="Active households of the county and track.")
    flagged: int = strawberry.field(
        description="Of those, whose benefit changed: due for re-review."
    )

    @classmethod
    def from_change(cls, change: standards_store.StandardChange) -> StandardChange:
        return cls(
            standard=Standard.from_row(change.standard),
            recomputed=change.recomputed,
            flagged=len(change.flagged),
        )
