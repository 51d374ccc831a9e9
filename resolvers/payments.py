"""Finance: monthly payment batches per county, and what the bank reported for each payment.

Who may call these is the policy's business; the region scope goes into SQL
through `store.payments`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from domain.enums import PaymentStatus
from domain.errors import InvalidInput
from resolvers.context import Info
from schema.types import Payment as Payment  # re-exported for the schema root
from store import payments as store


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
    total_amount: Decimal = strawberry.field(description="Sum of the batch's payments.")


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
    by_status: list[PaymentStatusTotal]

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


async def generate_payments(info: Info, county_code: str, period: str) -> PaymentBatchResult:
    ctx = info.context
    store.validate_batch_period(period, today=ctx.today)
    async with ctx.writing() as session:
        outcome = await store.generate_batch(
            session,
            ctx.cipher,
            county_code=county_code,
            period=period,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            now=ctx.now,
        )
    ctx.touched.update(outcome.archive_nos)
    return PaymentBatchResult(
        batch_id=strawberry.ID(outcome.batch.id),
        county_code=county_code,
        period=period,
        created=outcome.created,
        retried=outcome.retried,
        skipped=outcome.skipped,
        total_amount=outcome.total_amount,
    )


async def record_disbursement(
    info: Info,
    payment_id: strawberry.ID,
    outcome: PaymentStatus,
    bank_reference: str | None = None,
    failure_reason: str | None = None,
) -> Payment:
    ctx = info.context
    async with ctx.writing() as session:
        row = await store.record_disbursement(
            session,
            payment_id=str(payment_id),
            outcome=outcome,
            bank_reference=bank_reference,
            failure_reason=failure_reason,
            scope=ctx.principal.scope,
            now=ctx.now,
        )
    ctx.touched.add(row.archive_no)
    return Payment.from_row(row)


async def payment_batches(
    info: Info, county_code: str, period: str | None = None
) -> list[PaymentBatchSummary]:
    if store.COUNTY_RE.fullmatch(county_code) is None:
        raise InvalidInput("countyCode: 6 digits", field="countyCode")
    if period is not None:
        store.parse_period(period)
    ctx = info.context
    async with ctx.reading() as session:
        found = await store.batch_summaries(
            session, county_code=county_code, period=period, scope=ctx.principal.scope
        )
    return [PaymentBatchSummary.from_summary(s) for s in found]
