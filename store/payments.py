"""Monthly payment batches and their disbursement, in the caller's transaction.

A household is paid from the month after its approval (下月起): the approval
writes its benefit from the first day of the next month (store/workflow.py), and
the batch pays each month the benefit in force on its last day.

Exactly one REGULAR payment per household per period, and each back pay line
(补发, store/backpay.py) once, hold under concurrent batches because the database decides it: new
payments are inserted with `ON CONFLICT DO NOTHING` on
`uq_payments_household_period_seq` (household, month, line number: 0 for the
REGULAR payment, 1, 2, … for the back pay lines of that month in the order made;
a second batch that computed the same line waits for the first and then inserts
nothing), and a FAILED payment is
taken into a new batch by `UPDATE ... WHERE status = 'FAILED'`, which only one
of two concurrent batches can match. Nothing here catches an IntegrityError:
on PostgreSQL that would leave the transaction aborted.

Every statement that reads or writes payments carries the caller's region scope.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import HouseholdStatus, PaymentKind, PaymentStatus
from domain.errors import Conflict, InvalidInput, NotFound
from domain.region import in_scope as code_in_scope
from store.backpay import back_pay_lines
from store.benefits import in_force_amount
from store.crypto import Cipher
from store.households import code_prefix, in_scope
from store.models import (
    Base,
    BenefitHistory,
    Household,
    Payment,
    PaymentBatch,
    Region,
    Review,
    new_id,
)
from store.periods import first_day, last_day, month_start, parse_period
from store.types import Money

ZERO = Decimal("0.00")
COUNTY_RE = re.compile(r"^[0-9]{6}$")
INSERT_CHUNK = 500  # rows per INSERT statement (well under SQLite's bound-parameter limit)
MAX_REFERENCE = 64
MAX_REASON = 200


def validate_batch_period(value: str, *, today: dt.date) -> str:
    """A month to pay: YYYY-MM, no later than next month."""
    year, month = parse_period(value)
    next_year, next_month = (
        (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    )
    if (year, month) > (next_year, next_month):
        raise InvalidInput(
            f"period: no later than next month ({next_year:04d}-{next_month:02d})", field="period"
        )
    return value


def county_overlaps(scope: str) -> ColumnElement[bool]:
    """Batches whose county lies inside the scope, or contains it (a narrower caller)."""
    if not scope:
        return true()
    if not (scope.isascii() and scope.isdigit()):
        raise ValueError("region scope must be digits")
    if len(scope) <= 6:
        return code_prefix(PaymentBatch.county_code, scope)
    return PaymentBatch.county_code == scope[:6]


def _in_scope_households(scope: str) -> Any:
    return select(Household.archive_no).where(in_scope(scope))


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    batch: PaymentBatch
    created: int
    retried: int
    skipped: int
    back_pay: int
    total_amount: Decimal
    archive_nos: frozenset[str]


async def check_county(session: AsyncSession, *, county_code: str, scope: str) -> None:
    refused = InvalidInput("countyCode: no such county in your region", field="countyCode")
    if COUNTY_RE.fullmatch(county_code) is None or not code_in_scope(county_code, scope):
        raise refused
    county = await session.get(Region, county_code)
    if county is None or county.level != "COUNTY":
        raise refused


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def _retry_failed(
    session: AsyncSession,
    cipher: Cipher,
    *,
    batch_id: str,
    county_code: str,
    period: str,
    scope: str,
    now: dt.datetime,
) -> list[tuple[str, str]]:
    """Take the county's FAILED payments of earlier periods into this batch.

    The rows are locked in id order first (PostgreSQL; SQLite serialises writers),
    so two batches queue instead of deadlocking; the second finds them PENDING.
    """
    failed = (
        select(Payment.id)
        .where(
            Payment.county_code == county_code,
            Payment.period < period,
            Payment.status == PaymentStatus.FAILED.value,
            Payment.archive_no.in_(_in_scope_households(scope)),
        )
        .order_by(Payment.id)
        .with_for_update()
    )
    stmt = (
        update(Payment)
        .where(
            Payment.id.in_(failed.scalar_subquery()),
            Payment.status == PaymentStatus.FAILED.value,
            Payment.archive_no.in_(_in_scope_households(scope)),
        )
        .values(
            status=PaymentStatus.PENDING.value,
            batch_id=batch_id,
            attempts=Payment.attempts + 1,
            failure_reason=None,
            updated_at=now,
        )
        .returning(Payment.id, Payment.archive_no)
        .execution_options(synchronize_session=False)
    )
    retried = [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
    if retried:
        await _refresh_accounts(session, cipher, retried=retried, scope=scope)
    return retried


async def _refresh_accounts(
    session: AsyncSession, cipher: Cipher, *, retried: list[tuple[str, str]], scope: str
) -> None:
    """A retry pays to the account on file now (a failure is often a closed account)."""
    accounts: dict[str, bytes] = {
        archive_no: blob
        for archive_no, blob in (
            await session.execute(
                select(Household.archive_no, Household.bank_account_enc).where(
                    Household.archive_no.in_(sorted({archive_no for _, archive_no in retried})),
                    Household.bank_account_enc.is_not(None),
                    in_scope(scope),
                )
            )
        ).all()
        if blob is not None
    }
    params = [
        {
            "pid": payment_id,
            "enc": cipher.encrypt(
                cipher.decrypt(
                    accounts[archive_no],
                    table="households",
                    column="bank_account",
                    row_id=archive_no,
                ),
                table="payments",
                column="bank_account",
                row_id=payment_id,
            ),
        }
        for payment_id, archive_no in retried
        if archive_no in accounts
    ]
    if params:
        table = Base.metadata.tables[Payment.__tablename__]
        await session.execute(
            update(table)
            .where(
                table.c.id == bindparam("pid"),
                table.c.archive_no.in_(_in_scope_households(scope)),
            )
            .values(bank_account_enc=bindparam("enc")),
            params,
        )


async def _payable_households(
    session: AsyncSession, *, county_code: str, period: str, scope: str
) -> Sequence[Any]:
    """ACTIVE households of the county (and those in a gradual exit that has not ended
    by the month's first day) with no payment for the period yet, and the
    benefit in force in that month: the latest history row from before its end.

    A household with no history at all (imported data) is paid its current benefit
    from the month after its approval (下月起), never for the month of the approval
    or before it.
    """
    in_force = in_force_amount(Household.archive_no, on=last_day(period))
    approved_by_then = (
        select(Review.id)
        .where(
            Review.archive_no == Household.archive_no,
            Review.step == "APPROVE",
            Review.created_at < month_start(period),
        )
        .exists()
    )
    has_history = (
        select(BenefitHistory.id).where(BenefitHistory.archive_no == Household.archive_no).exists()
    )
    benefit = case(
        (has_history, in_force),
        (approved_by_then, Household.monthly_benefit),
        else_=None,
    )
    paid = (
        select(Payment.id)
        .where(
            Payment.archive_no == Household.archive_no,
            Payment.period == period,
            Payment.kind == PaymentKind.REGULAR.value,
        )
        .exists()
    )
    stmt = (
        select(
            Household.archive_no,
            Household.bank_account_enc,
            type_coerce(benefit, Money).label("benefit"),
            paid.label("paid"),
        )
        .where(
            in_scope(scope),
            code_prefix(Household.village_code, county_code),
            or_(
                Household.status == HouseholdStatus.ACTIVE.value,
                # a gradual exit (渐退期) keeps the benefit for the months that start
                # before it ends
                and_(
                    Household.status == HouseholdStatus.GRADUAL_EXIT.value,
                    Household.gradual_exit_until > first_day(period),
                ),
            ),
        )
        .order_by(Household.archive_no)
    )
    return (await session.execute(stmt)).all()


async def generate_batch(
    session: AsyncSession,
    cipher: Cipher,
    *,
    county_code: str,
    period: str,
    scope: str,
    actor: str,
    now: dt.datetime,
) -> BatchOutcome:
    await check_county(session, county_code=county_code, scope=scope)
    batch = PaymentBatch(
        id=new_id(), county_code=county_code, period=period, created_at=now, created_by=actor
    )
    session.add(batch)
    await session.flush()
    retried = await _retry_failed(
        session,
        cipher,
        batch_id=batch.id,
        county_code=county_code,
        period=period,
        scope=scope,
        now=now,
    )
    rows: list[dict[str, Any]] = []
    skipped = 0
    for archive_no, bank_enc, benefit, paid in await _payable_households(
        session, county_code=county_code, period=period, scope=scope
    ):
        if paid or benefit is None or benefit <= ZERO:
            skipped += 1
            continue
        payment_id = new_id()
        account = (
            None
            if bank_enc is None
            else cipher.encrypt(
                cipher.decrypt(
                    bank_enc, table="households", column="bank_account", row_id=archive_no
                ),
                table="payments",
                column="bank_account",
                row_id=payment_id,
            )
        )
        rows.append(
            {
                "id": payment_id,
                "archive_no": archive_no,
                "county_code": county_code,
                "period": period,
                "amount": benefit,
                "status": PaymentStatus.PENDING.value,
                "bank_account_enc": account,
                "batch_id": batch.id,
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
                "kind": PaymentKind.REGULAR.value,
                "seq": 0,
            }
        )
    created = await _insert_new(session, rows)
    skipped += len(rows) - len(created)  # another batch paid them first
    # after this batch's own REGULAR lines, so a month paid just now is not made up
    back_pay = await _insert_new(
        session,
        await back_pay_lines(
            session,
            cipher,
            batch_id=batch.id,
            county_code=county_code,
            period=period,
            scope=scope,
            now=now,
        ),
    )
    total = await session.scalar(
        select(func.sum(Payment.amount)).where(
            Payment.batch_id == batch.id,
            Payment.archive_no.in_(_in_scope_households(scope)),
        )
    )
    return BatchOutcome(
        batch=batch,
        created=len(created),
        retried=len(retried),
        skipped=skipped,
        back_pay=len(back_pay),
        total_amount=ZERO if total is None else total,
        archive_nos=frozenset([*created, *back_pay, *(archive_no for _, archive_no in retried)]),
    )


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> list[str]:
    """Insert what no other batch has inserted yet; the archive numbers of the rows made."""
    insert = _insert(session)
    created: list[str] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = (
            insert(Payment)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(
                index_elements=[Payment.archive_no, Payment.period, Payment.seq]
            )
            .returning(Payment.archive_no)
        )
        created.extend((await session.scalars(stmt)).all())
    return created


async def record_disbursement(
    session: AsyncSession,
    *,
    payment_id: str,
    outcome: PaymentStatus,
    bank_reference: str | None,
    failure_reason: str | None,
    scope: str,
    now: dt.datetime,
) -> Payment:
    """PENDING → DISBURSED (with the bank's reference) or FAILED (with the reason).

    One conditional UPDATE: of two recordings at once exactly one finds the
    payment PENDING; the other gets a CONFLICT naming the status it now has.
    """
    reference = (bank_reference or "").strip() or None
    reason = (failure_reason or "").strip() or None
    if outcome is PaymentStatus.DISBURSED:
        if reference is None:
            raise InvalidInput("bankReference: required for DISBURSED", field="bankReference")
        if len(reference) > MAX_REFERENCE:
            raise InvalidInput(
                f"bankReference: at most {MAX_REFERENCE} characters", field="bankReference"
            )
        if reason is not None:
            raise InvalidInput("failureReason: only for FAILED", field="failureReason")
    elif outcome is PaymentStatus.FAILED:
        if reason is None:
            raise InvalidInput("failureReason: required for FAILED", field="failureReason")
        if len(reason) > MAX_REASON:
            raise InvalidInput(
                f"failureReason: at most {MAX_REASON} characters", field="failureReason"
            )
        if reference is not None:
            raise InvalidInput("bankReference: only for DISBURSED", field="bankReference")
    else:
        raise InvalidInput("outcome: DISBURSED or FAILED", field="outcome")
    visible = Payment.archive_no.in_(_in_scope_households(scope))
    stmt = (
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING.value, visible)
        .values(
            status=outcome.value,
            bank_reference=reference,
            failure_reason=reason,
            updated_at=now,
        )
        .returning(Payment)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    row = (await session.scalars(stmt)).one_or_none()
    if row is not None:
        return row
    current = await session.scalar(select(Payment.status).where(Payment.id == payment_id, visible))
    if current is None:
        raise NotFound("paymentId: no such payment", field="paymentId")
    raise Conflict(
        f"status: payment is {current}, only PENDING payments can be recorded", field="status"
    )


@dataclass(frozen=True, slots=True)
class StatusTotal:
    status: PaymentStatus
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BatchSummary:
    batch: PaymentBatch
    count: int
    total_amount: Decimal
    by_status: tuple[StatusTotal, ...]


async def batch_summaries(
    session: AsyncSession, *, county_code: str, period: str | None, scope: str
) -> list[BatchSummary]:
    """A county's batches, newest first, with the payments in them that lie in scope.

    Sums are taken in SQL through the Money type (integer cents on SQLite,
    numeric on PostgreSQL), so they are exact to the cent on both.
    """
    payments = (
        select(Payment.batch_id, Payment.status, Payment.amount, Payment.id)
        .where(Payment.archive_no.in_(_in_scope_households(scope)))
        .subquery()
    )
    batches = select(PaymentBatch).where(
        PaymentBatch.county_code == county_code, county_overlaps(scope)
    )
    if period is not None:
        batches = batches.where(PaymentBatch.period == period)
    found = (
        await session.scalars(
            batches.order_by(
                PaymentBatch.period.desc(), PaymentBatch.created_at.desc(), PaymentBatch.id
            )
        )
    ).all()
    if not found:
        return []
    totals = (
        await session.execute(
            select(
                payments.c.batch_id,
                payments.c.status,
                func.count(payments.c.id),
                func.sum(payments.c.amount),
            )
            .join(PaymentBatch, PaymentBatch.id == payments.c.batch_id)
            .where(PaymentBatch.id.in_([b.id for b in found]), county_overlaps(scope))
            .group_by(payments.c.batch_id, payments.c.status)
        )
    ).all()
    by_batch: dict[str, dict[str, tuple[int, Decimal]]] = {}
    for batch_id, status, count, amount in totals:
        by_batch.setdefault(batch_id, {})[status] = (int(count), amount or ZERO)
    summaries = []
    for batch in found:
        groups = by_batch.get(batch.id, {})
        by_status = tuple(
            StatusTotal(status=s, count=count, amount=amount)
            for s in PaymentStatus
            for count, amount in [groups.get(s.value, (0, ZERO))]
        )
        summaries.append(
            BatchSummary(
                batch=batch,
                count=sum(t.count for t in by_status),
                total_amount=sum((t.amount for t in by_status), ZERO),
                by_status=by_status,
            )
        )
    return summaries
