"""Finance: monthly payment batches per county, and what the bank reported for each payment.

Who may call these is the policy's business; the region scope goes into SQL
through `store.payments`.
"""

from __future__ import annotations

from domain.enums import PaymentStatus
from domain.errors import InvalidInput
from resolvers.context import Info
from store import models
from store import payments as store
from store.periods import parse_period


async def generate_payments(info: Info, county_code: str, period: str) -> store.BatchOutcome:
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
    return outcome


async def record_disbursement(
    info: Info,
    payment_id: str,
    outcome: PaymentStatus,
    bank_reference: str | None = None,
    failure_reason: str | None = None,
) -> models.Payment:
    ctx = info.context
    async with ctx.writing() as session:
        row = await store.record_disbursement(
            session,
            payment_id=payment_id,
            outcome=outcome,
            bank_reference=bank_reference,
            failure_reason=failure_reason,
            scope=ctx.principal.scope,
            now=ctx.now,
        )
    ctx.touched.add(row.archive_no)
    return row


async def payment_batches(
    info: Info, county_code: str, period: str | None = None
) -> list[store.BatchSummary]:
    if store.COUNTY_RE.fullmatch(county_code) is None:
        raise InvalidInput("countyCode: 6 digits", field="countyCode")
    if period is not None:
        parse_period(period)
    ctx = info.context
    async with ctx.reading() as session:
        return await store.batch_summaries(
            session, county_code=county_code, period=period, scope=ctx.principal.scope
        )
