"""Monthly payment batches and their disbursement, in the caller's transaction.

A household is paid from the month after its approval (下月起): the approval
writes its benefit from the first day of the next month (store/workflow.py), and
the batch pays each month the benefit in force on its last day.

Exactly one REGULAR payment per household per period, and each back pay line
(补发) once, hold under concurrent batches because the database decides it: new
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

import calendar
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
from store.types import Money

ZERO = Decimal("0.00")
_PERIOD_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
COUNTY_RE = re.compile(r"^[0-9]{6}$")
INSERT_CHUNK = 500  # rows per INSERT statement (well under SQLite's bound-parameter limit)
MAX_REFERENCE = 64
MAX_REASON = 200
CST = dt.timezone(dt.timedelta(hours=8))
# a standard starts at most a year before the day it is set (resolvers/standards.py),
# so no month older than this many before today's can be owed back pay
BACK_PAY_MONTHS = 13
# households whose months already paid are made up when their benefit was raised
# from a past date: the ones the batch pays or will pay again (a suspended one)
MADE_UP = (
    HouseholdStatus.ACTIVE.value,
    HouseholdStatus.SUSPENDED.value,
    HouseholdStatus.GRADUAL_EXIT.value,
)


def parse_period(value: str, *, field: str = "period") -> tuple[int, int]:
    match = _PERIOD_RE.fullmatch(value)
    if match is None or int(match.group(1)) < 1900:
        raise InvalidInput(f"{field}: a month as YYYY-MM", field=field)
    return int(match.group(1)), int(match.group(2))


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


def month_start(period: str) -> dt.datetime:
    """The first instant of the period (Beijing midnight of its first day)."""
    start = first_day(period)
    return dt.datetime(start.year, start.month, 1, tzinfo=CST)


def months_before(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def first_day(period: str) -> dt.date:
    year, month = parse_period(period)
    return dt.date(year, month, 1)


def last_day(period: str) -> dt.date:
    year, month = parse_period(period)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


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


async def _check_county(session: AsyncSession, *, county_code: str, scope: str) -> None:
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
    in_force = (
        select(BenefitHistory.amount)
        .where(
            BenefitHistory.archive_no == Household.archive_no,
            BenefitHistory.effective_from <= last_day(period),
        )
        .order_by(
            BenefitHistory.effective_from.desc(),
            BenefitHistory.created_at.desc(),
            BenefitHistory.id.desc(),
        )
        .limit(1)
        .scalar_subquery()
    )
    has_history = (
        select(BenefitHistory.id).where(BenefitHistory.archive_no == Household.archive_no).exists()
    )
    approved_by_then = (
        select(Review.id)
        .where(
            Review.archive_no == Household.archive_no,
            Review.step == "APPROVE",
            Review.created_at < month_start(period),
        )
        .exists()
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
    await _check_county(session, county_code=county_code, scope=scope)
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
        await _back_pay_lines(
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


def _in_force(history: Sequence[Any], period: str) -> Decimal | None:
    """The amount in force on the period's last day: the rule of `_payable_households`."""
    end = last_day(period)
    starts = [h for h in history if h.effective_from <= end]
    if not starts:
        return None
    latest = max(starts, key=lambda h: (h.effective_from, h.created_at, h.id))
    amount: Decimal = latest.amount
    return amount


async def _back_pay_lines(
    session: AsyncSession,
    cipher: Cipher,
    *,
    batch_id: str,
    county_code: str,
    period: str,
    scope: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Back pay (补发) for months up to this one that were paid less than is due now.

    For each household of the county that is ACTIVE, SUSPENDED or in its gradual
    exit, and each month with a REGULAR payment (whatever its status: a FAILED one
    is retried at its amount), due is the benefit history's amount for that month
    and paid the sum of all its lines; a positive difference is one new line, the
    month's next number. Never negative: a lowered benefit is not clawed back.
    What was paid and the month's last line number come from one statement, so a
    line another batch made meanwhile has the number this one would take: the
    database keeps one of the two, and the next batch sees it and makes up only
    what is still missing.
    """
    earliest = months_before(f"{now.astimezone(CST):%Y-%m}", BACK_PAY_MONTHS)
    households = (
        select(Household.archive_no)
        .where(
            in_scope(scope),
            code_prefix(Household.village_code, county_code),
            Household.status.in_(MADE_UP),
        )
        .scalar_subquery()
    )
    months = (
        await session.execute(
            select(
                Payment.archive_no,
                Payment.period,
                type_coerce(func.sum(Payment.amount), Money),
                func.max(Payment.seq),
            )
            .where(
                Payment.archive_no.in_(households),
                Payment.county_code == county_code,
                Payment.period <= period,
                Payment.period >= earliest,
            )
            .group_by(Payment.archive_no, Payment.period)
            .having(func.min(Payment.seq) == 0)  # the month has its REGULAR payment
            .order_by(Payment.archive_no, Payment.period)
        )
    ).all()
    if not months:
        return []
    archive_nos = sorted({row[0] for row in months})
    history: dict[str, list[Any]] = {}
    accounts: dict[str, bytes | None] = {}
    for start in range(0, len(archive_nos), INSERT_CHUNK):
        chunk = archive_nos[start : start + INSERT_CHUNK]
        for row in (
            await session.execute(
                select(
                    BenefitHistory.archive_no,
                    BenefitHistory.amount,
                    BenefitHistory.effective_from,
                    BenefitHistory.created_at,
                    BenefitHistory.id,
                ).where(BenefitHistory.archive_no.in_(chunk))
            )
        ).all():
            history.setdefault(row.archive_no, []).append(row)
        for archive_no, blob in (
            await session.execute(
                select(Household.archive_no, Household.bank_account_enc).where(
                    Household.archive_no.in_(chunk), in_scope(scope)
                )
            )
        ).all():
            accounts[archive_no] = blob
    lines: list[dict[str, Any]] = []
    for archive_no, month, paid, last in months:
        due = _in_force(history.get(archive_no, []), month)
        if due is None or due - paid <= ZERO:
            continue
        payment_id = new_id()
        blob = accounts.get(archive_no)
        lines.append(
            {
                "id": payment_id,
                "archive_no": archive_no,
                "county_code": county_code,
                "period": month,
                "amount": due - paid,
                "status": PaymentStatus.PENDING.value,
                "bank_account_enc": None
                if blob is None
                else cipher.encrypt(
                    cipher.decrypt(
                        blob, table="households", column="bank_account", row_id=archive_no
                    ),
                    table="payments",
                    column="bank_account",
                    row_id=payment_id,
                ),
                "batch_id": batch_id,
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
                "kind": PaymentKind.BACK_PAY.value,
                "seq": int(last) + 1,
            }
        )
    return lines


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
