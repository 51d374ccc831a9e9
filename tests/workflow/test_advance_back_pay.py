"""A month paid in advance is made up when a raise that counts from it is recorded later
(README, "The workflow": the back-pay rule reads only the benefit history and the
payments). Through GraphQL, on both backends."""

from __future__ import annotations

from decimal import Decimal

from tests.workflow.test_month_rules import INCOMES, Office, benefit, office, on
from tests.workflow.test_review_chain import URBAN_STANDARD

__all__ = ["office"]  # the fixture, used by name


async def test_a_month_paid_in_advance_is_made_up_after_a_raise(office: Office) -> None:
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    on(office.runtime, "2027-01-20")
    await office.batch("2027-01")
    advance = await office.batch("2027-02")  # February paid in January, at the old standard
    old = benefit(URBAN_STANDARD, INCOMES)
    assert (advance["created"], advance["totalAmount"]) == (1, str(old))
    raised = URBAN_STANDARD + Decimal("30.00")
    await office.standard(str(raised), "2027-02-01")  # counts from the month already paid
    on(office.runtime, "2027-02-25")
    march = await office.batch("2027-03")
    new = benefit(raised, INCOMES)
    assert march["backPay"] == 1
    assert await office.lines(archive) == [
        ("2027-01", "REGULAR", str(old)),
        ("2027-02", "REGULAR", str(old)),
        ("2027-02", "BACK_PAY", str(new - old)),
        ("2027-03", "REGULAR", str(new)),
    ]
