"""Back pay (补发): what a month already paid is still due, as lines of a later batch.

A month is due the benefit history's amount in force on its last day (the same rule
as the REGULAR payment, store/benefits.py). When that is more than everything paid
for the month (its REGULAR payment, whatever its status, since a FAILED one is
retried at its amount, and any earlier back pay), the difference is one more line:
`kind` BACK_PAY, `period` the month it makes up for, numbered after the month's
last line. Never negative: a lowered benefit is not clawed back.

What is due, what was paid and the month's last number come from one statement per
month, so a line another batch made meanwhile has the number this one would take:
the unique key keeps one of the two (ON CONFLICT DO NOTHING), and the next batch
sees it and makes up only what is still missing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import HouseholdStatus, PaymentKind, PaymentStatus
from store.benefits import in_force_amount
from store.crypto import Cipher
from store.households import code_prefix, in_scope
from store.models import Household, Payment, new_id
from store.periods import CST, last_day, months_before, months_from
from store.types import Money

# a standard starts at most a year before the day it is set (resolvers/standards.py),
# and a county's next batch may come a year after that: no month older than this many
# before today's can be owed back pay
BACK_PAY_MONTHS = 25
# a month paid short is owed whatever became of the household since (terminated or
# archived, the money was due while it was paid); a suspended household's is held
# until it is resumed (暂停: its payments stop while it is being looked into)
HELD = HouseholdStatus.SUSPENDED.value
CHUNK = 500


async def _short_months(
    session: AsyncSession, *, county_code: str, period: str, scope: str, today: str
) -> list[tuple[str, str, Decimal, int]]:
    """(household, month, difference, last line number) for each month paid short."""
    households = select(Household.archive_no).where(
        in_scope(scope),
        code_prefix(Household.village_code, county_code),
        Household.status != HELD,
    )
    short: list[tuple[str, str, Decimal, int]] = []
    earliest = months_before(today, BACK_PAY_MONTHS)
    for month in months_from(earliest, period) if earliest <= period else []:
        due = type_coerce(in_force_amount(Payment.archive_no, on=last_day(month)), Money)
        paid = type_coerce(func.sum(Payment.amount), Money)
        rows = await session.execute(
            select(Payment.archive_no, due, paid, func.max(Payment.seq))
            .where(
                Payment.period == month,
                Payment.county_code == county_code,
                Payment.archive_no.in_(households),
            )
            .group_by(Payment.archive_no)
            .having(func.min(Payment.seq) == 0, due > paid)  # has its REGULAR payment
            .order_by(Payment.archive_no)
        )
        short.extend((a, month, d - p, int(last)) for a, d, p, last in rows.all())
    return short


async def back_pay_lines(
    session: AsyncSession,
    cipher: Cipher,
    *,
    batch_id: str,
    county_code: str,
    period: str,
    scope: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The new lines for the county's months up to `period`, to the account on file now."""
    short = await _short_months(
        session,
        county_code=county_code,
        period=period,
        scope=scope,
        today=f"{now.astimezone(CST):%Y-%m}",
    )
    archive_nos = sorted({archive_no for archive_no, *_ in short})
    accounts: dict[str, bytes | None] = {}
    for start in range(0, len(archive_nos), CHUNK):
        rows = await session.execute(
            select(Household.archive_no, Household.bank_account_enc).where(
                Household.archive_no.in_(archive_nos[start : start + CHUNK]), in_scope(scope)
            )
        )
        accounts.update((a, blob) for a, blob in rows.all())
    lines: list[dict[str, Any]] = []
    for archive_no, month, amount, last in sorted(short):
        payment_id = new_id()
        blob = accounts.get(archive_no)
        lines.append(
            {
                "id": payment_id,
                "archive_no": archive_no,
                "county_code": county_code,
                "period": month,
                "amount": amount,
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
                "seq": last + 1,
            }
        )
    return lines
