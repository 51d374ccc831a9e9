"""Money follows the month rules of 《最低生活保障审核确认办法》(民发〔2021〕57号), through
the public API on both backends: a benefit is paid from the month after its approval,
a reported change counts from the next month, and a standard set from a past date is
made up as back pay (补发) for the months already paid, once, never negative."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime
from store.models import Payment
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions
from tests.workflow.test_changes import CHANGE, member_ids
from tests.workflow.test_review_chain import (
    ACTIVATE,
    APPROVE,
    RESUME,
    SUSPEND,
    TERMINATE,
    URBAN_STANDARD,
    ok,
    to_notice,
)
from tests.workflow.test_special_groups import head as cover_head
from tests.workflow.test_special_groups import spouse as cover_spouse
from tests.workflow.test_special_groups import submitted
from tests.workflow.test_special_groups import to_notice as cover_to_notice

COUNTY = "220183"
GENERATE = """mutation($c: String!, $p: String!) {
  generatePayments(countyCode: $c, period: $p) {
    batchId period created retried skipped backPay totalAmount
  }
}"""
PAYMENTS = """query($a: String!) {
  household(archiveNo: $a) {
    monthlyBenefit
    payments { period amount kind status batchId }
    benefitHistory { amount effectiveFrom reason }
  }
}"""
SET = """mutation($amount: Decimal!, $from: Date!) {
  setStandard(countyCode: "220183", area: URBAN, monthlyAmount: $amount, effectiveFrom: $from) {
    recomputed flagged
  }
}"""
BATCHES = """query($p: String!) {
  paymentBatches(countyCode: "220183", period: $p) { id count totalAmount }
}"""


def on(runtime: Runtime, day: str) -> None:
    """The service's clock at ten in the morning, Beijing time, of `day`."""
    moment = dt.datetime.fromisoformat(f"{day}T02:00:00+00:00")
    runtime.clock = lambda: moment


def benefit(standard: Decimal, incomes: tuple[str, ...]) -> Decimal:
    return standard * len(incomes) - sum((Decimal(i) for i in incomes), Decimal(0))


class Office:
    """The county's staff: a caseworker, a reviewer and a finance officer."""

    def __init__(self, api: Api, runtime: Runtime) -> None:
        self.api, self.runtime = api, runtime

    async def open(self) -> Office:
        await load_regions(self.runtime)
        self.worker = await issue_token(self.runtime, "caseworker", CASEWORKER_TOWNSHIP)
        self.reviewer = await issue_token(self.runtime, "county_reviewer", COUNTY)
        self.finance = await issue_token(self.runtime, "finance_officer", COUNTY)
        return self

    async def approved(self, *, notice: str, decision: str, incomes: tuple[str, ...]) -> str:
        """A household through the chain, its notice posted on `notice`, approved and
        activated on `decision`."""
        on(self.runtime, notice)
        archive = await to_notice(self.api, self.worker, incomes)
        on(self.runtime, decision)
        ok(await self.api.gql(self.reviewer, APPROVE, {"a": archive}), "approveApplication")
        ok(await self.api.gql(self.reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
        return archive

    async def batch(self, period: str) -> dict[str, Any]:
        return ok(
            await self.api.gql(self.finance, GENERATE, {"c": COUNTY, "p": period}),
            "generatePayments",
        )

    async def household(self, archive: str) -> dict[str, Any]:
        return ok(await self.api.gql(self.finance, PAYMENTS, {"a": archive}), "household")

    async def lines(self, archive: str) -> list[tuple[str, str, str]]:
        """(period, kind, amount) of each payment, in order."""
        rows = (await self.household(archive))["payments"]
        return [(p["period"], p["kind"], p["amount"]) for p in rows]

    async def standard(self, amount: str, effective_from: str) -> dict[str, Any]:
        body = await self.api.gql(self.reviewer, SET, {"amount": amount, "from": effective_from})
        return ok(body, "setStandard")


@pytest.fixture
async def office(api: Api, runtime: Runtime) -> Office:
    return await Office(api, runtime).open()


async def lines_per_month(runtime: Runtime) -> dict[tuple[str, str, int], int]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Payment.archive_no, Payment.period, Payment.seq, func.count()).group_by(
                Payment.archive_no, Payment.period, Payment.seq
            )
        )
        return {(a, p, s): int(c) for a, p, s, c in rows.all()}


async def test_approved_in_december_is_paid_from_january(office: Office) -> None:
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    amount = benefit(URBAN_STANDARD, INCOMES)
    history = (await office.household(archive))["benefitHistory"]
    assert history == [{"amount": str(amount), "effectiveFrom": "2027-01-01", "reason": "approved"}]
    december = await office.batch("2026-12")
    assert (december["created"], december["totalAmount"]) == (0, "0.00")
    january = await office.batch("2027-01")
    assert (january["created"], january["totalAmount"]) == (1, str(amount))
    assert await office.lines(archive) == [("2027-01", "REGULAR", str(amount))]


INCOMES = ("0.00", "100.00")


async def test_a_change_counts_from_the_next_month(office: Office) -> None:
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    before = benefit(URBAN_STANDARD, INCOMES)
    on(office.runtime, "2027-01-12")
    head, _ = await member_ids(office.api, office.worker, archive)
    change = {"kind": "INCOME", "reason": "找到零工", "memberId": head, "monthlyIncome": "300.25"}
    reported = ok(
        await office.api.gql(office.worker, CHANGE, {"a": archive, "c": change}), "reportChange"
    )
    after = benefit(URBAN_STANDARD, ("300.25", "100.00"))
    assert Decimal(reported["monthlyBenefit"]) == after
    history = (await office.household(archive))["benefitHistory"]
    assert history[-1] == {
        "amount": str(after),
        "effectiveFrom": "2027-02-01",
        "reason": "change reported",
    }
    await office.batch("2027-01")  # run after the report: January is paid as it was
    await office.batch("2027-02")
    assert await office.lines(archive) == [
        ("2027-01", "REGULAR", str(before)),
        ("2027-02", "REGULAR", str(after)),
    ]


async def test_a_standard_from_a_past_date_is_made_up_as_back_pay(office: Office) -> None:
    """Two households paid January to March at the old standard (one suspended after
    February); in March the standard is raised from January: the April batch pays
    April at the new amount and the difference for each month already paid, to the
    cent; the suspended household's two months are held until it is resumed, and the
    next batch makes them up."""
    odd = ("0.00", "100.37")
    paid = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    other = await office.approved(notice="2026-11-26", decision="2026-12-10", incomes=odd)
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-20")
    ok(
        await office.api.gql(office.reviewer, SUSPEND, {"a": other, "r": "外出务工待核实"}),
        "suspendHousehold",
    )
    on(office.runtime, "2027-03-05")
    await office.batch("2027-03")
    on(office.runtime, "2027-03-20")
    raised = URBAN_STANDARD + Decimal("35.55")
    change = await office.standard(str(raised), "2027-01-01")
    assert change["recomputed"] == 2  # the suspended household's benefit derives from it too
    old, new = benefit(URBAN_STANDARD, INCOMES), benefit(raised, INCOMES)
    old_odd, new_odd = benefit(URBAN_STANDARD, odd), benefit(raised, odd)

    april = await office.batch("2027-04")
    assert (april["created"], april["backPay"]) == (1, 3)
    expected_total = new + 3 * (new - old)
    assert Decimal(april["totalAmount"]) == expected_total
    assert april["totalAmount"] == f"{expected_total:.2f}"
    assert await office.lines(paid) == [
        ("2027-01", "REGULAR", str(old)),
        ("2027-01", "BACK_PAY", str(new - old)),
        ("2027-02", "REGULAR", str(old)),
        ("2027-02", "BACK_PAY", str(new - old)),
        ("2027-03", "REGULAR", str(old)),
        ("2027-03", "BACK_PAY", str(new - old)),
        ("2027-04", "REGULAR", str(new)),
    ]
    assert await office.lines(other) == [  # held while suspended (暂停)
        ("2027-01", "REGULAR", str(old_odd)),
        ("2027-02", "REGULAR", str(old_odd)),
    ]
    back_pay = [p for p in (await office.household(paid))["payments"] if p["kind"] == "BACK_PAY"]
    assert {(p["status"], p["batchId"]) for p in back_pay} == {("PENDING", april["batchId"])}
    [summary] = ok(
        await office.api.gql(office.finance, BATCHES, {"p": "2027-04"}), "paymentBatches"
    )
    assert (summary["count"], Decimal(summary["totalAmount"])) == (4, expected_total)

    again = await office.batch("2027-04")  # run twice: nothing is made up twice
    assert (again["created"], again["backPay"], again["totalAmount"]) == (0, 0, "0.00")

    # resumed: the next batch makes up the months held, once
    on(office.runtime, "2027-04-20")
    ok(
        await office.api.gql(office.reviewer, RESUME, {"a": other, "r": "返乡核实"}),
        "resumeHousehold",
    )
    on(office.runtime, "2027-05-05")
    may = await office.batch("2027-05")
    assert (may["created"], may["backPay"]) == (2, 2)
    assert await office.lines(other) == [
        ("2027-01", "REGULAR", str(old_odd)),
        ("2027-01", "BACK_PAY", str(new_odd - old_odd)),
        ("2027-02", "REGULAR", str(old_odd)),
        ("2027-02", "BACK_PAY", str(new_odd - old_odd)),
        ("2027-05", "REGULAR", str(new_odd)),
    ]


async def test_a_household_terminated_before_the_batch_is_still_made_up(
    office: Office,
) -> None:
    """Paid short for months while ACTIVE, then terminated before the next batch: what
    was due in those months is still owed, and the batch pays it."""
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-20")
    raised = URBAN_STANDARD + Decimal("10.01")
    await office.standard(str(raised), "2027-01-01")
    on(office.runtime, "2027-02-25")
    ok(
        await office.api.gql(office.reviewer, TERMINATE, {"a": archive, "r": "迁出本县"}),
        "terminateHousehold",
    )
    on(office.runtime, "2027-03-05")
    march = await office.batch("2027-03")
    assert (march["created"], march["backPay"]) == (0, 2)
    difference = str(benefit(raised, INCOMES) - benefit(URBAN_STANDARD, INCOMES))
    assert [line for line in await office.lines(archive) if line[1] == "BACK_PAY"] == [
        ("2027-01", "BACK_PAY", difference),
        ("2027-02", "BACK_PAY", difference),
    ]


async def test_a_second_raise_makes_up_only_what_is_still_missing(office: Office) -> None:
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-10")
    first = URBAN_STANDARD + Decimal("10.01")
    await office.standard(str(first), "2027-01-01")
    made_up = await office.batch("2027-02")  # the month's batch again, after the raise
    assert made_up["backPay"] == 2
    on(office.runtime, "2027-02-20")
    second = first + Decimal("20.02")
    await office.standard(str(second), "2027-02-01")
    march = await office.batch("2027-03")
    assert march["backPay"] == 1  # February again; January keeps the first raise
    old, mid, top = (benefit(s, INCOMES) for s in (URBAN_STANDARD, first, second))
    assert await office.lines(archive) == [
        ("2027-01", "REGULAR", str(old)),
        ("2027-01", "BACK_PAY", str(mid - old)),
        ("2027-02", "REGULAR", str(old)),
        ("2027-02", "BACK_PAY", str(mid - old)),
        ("2027-02", "BACK_PAY", str(top - mid)),
        ("2027-03", "REGULAR", str(top)),
    ]
    assert Decimal(march["totalAmount"]) == top + (top - mid)


async def test_a_lowered_standard_claws_nothing_back(office: Office) -> None:
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-20")
    lower = URBAN_STANDARD - Decimal("40.00")
    await office.standard(str(lower), "2027-01-01")
    march = await office.batch("2027-03")
    assert march["backPay"] == 0
    assert march["totalAmount"] == str(benefit(lower, INCOMES))
    kinds = {(kind, Decimal(amount) > 0) for _, kind, amount in await office.lines(archive)}
    assert kinds == {("REGULAR", True)}


async def test_a_back_dated_standard_recomputes_each_month_on_its_own_household(
    office: Office,
) -> None:
    """A change reported in January counts from February; a standard set later from
    January makes January due on the household of January (before the change) and
    February on the household after it: neither entry made on the old standard wins."""
    archive = await office.approved(notice="2026-11-25", decision="2026-12-09", incomes=INCOMES)
    on(office.runtime, "2027-01-05")
    await office.batch("2027-01")
    on(office.runtime, "2027-01-12")
    head, _ = await member_ids(office.api, office.worker, archive)
    change = {"kind": "INCOME", "reason": "工资调整", "memberId": head, "monthlyIncome": "50.00"}
    ok(await office.api.gql(office.worker, CHANGE, {"a": archive, "c": change}), "reportChange")
    on(office.runtime, "2027-01-20")
    raised = URBAN_STANDARD + Decimal("12.34")
    await office.standard(str(raised), "2027-01-01")
    before, after = benefit(raised, INCOMES), benefit(raised, ("50.00", "100.00"))
    history = (await office.household(archive))["benefitHistory"]
    restated = [h for h in history if h["reason"] == "local standard changed"]
    assert [(h["effectiveFrom"], h["amount"]) for h in restated] == [
        ("2027-01-01", str(before)),
        ("2027-02-01", str(after)),
    ]
    on(office.runtime, "2027-02-05")
    february = await office.batch("2027-02")
    assert february["backPay"] == 1
    paid = benefit(URBAN_STANDARD, INCOMES)
    assert await office.lines(archive) == [
        ("2027-01", "REGULAR", str(paid)),
        ("2027-01", "BACK_PAY", str(before - paid)),
        ("2027-02", "REGULAR", str(after)),
    ]
    assert Decimal(february["totalAmount"]) == after + before - paid


async def test_two_batches_at_once_make_up_each_month_once(office: Office) -> None:
    archives = [
        await office.approved(
            notice="2026-11-25", decision="2026-12-09", incomes=("0.00", f"{100 + i}.11")
        )
        for i in range(3)
    ]
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-20")
    await office.standard(str(URBAN_STANDARD + Decimal("7.77")), "2027-01-01")
    bodies = await asyncio.gather(
        *(office.api.gql(office.finance, GENERATE, {"c": COUNTY, "p": "2027-02"}) for _ in range(2))
    )
    results = [ok(b, "generatePayments") for b in bodies]
    assert sum(r["backPay"] for r in results) == 2 * len(archives)
    assert sum(Decimal(r["totalAmount"]) for r in results) == 2 * len(archives) * Decimal("15.54")
    counts = await lines_per_month(office.runtime)
    assert set(counts.values()) == {1}
    assert {(a, p) for a, p, s in counts if s == 1} == {
        (a, p) for a in archives for p in ("2027-01", "2027-02")
    }


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(5))
async def test_racing_batches_on_postgres_never_make_up_twice(office: Office, attempt: int) -> None:
    archives = [
        await office.approved(
            notice="2026-11-25", decision="2026-12-09", incomes=("0.00", f"{200 + i}.03")
        )
        for i in range(4)
    ]
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-20")
    await office.standard(str(URBAN_STANDARD + Decimal("0.05")), "2027-01-01")
    on(office.runtime, "2027-03-05")
    bodies = await asyncio.gather(
        *(
            office.api.gql(office.finance, GENERATE, {"c": COUNTY, "p": period})
            for period in ("2027-03", "2027-03", "2027-02", "2027-03")
        )
    )
    results = [ok(b, "generatePayments") for b in bodies]
    assert sum(r["backPay"] for r in results) == 2 * len(archives)
    assert sum(r["created"] for r in results) == len(archives)
    made_up = sum(Decimal(r["totalAmount"]) for r in results) - sum(
        (benefit(URBAN_STANDARD + Decimal("0.05"), ("0.00", f"{200 + i}.03")) for i in range(4)),
        Decimal(0),
    )
    assert made_up == 2 * len(archives) * Decimal("0.10")
    counts = await lines_per_month(office.runtime)
    assert set(counts.values()) == {1}
    assert len([k for k in counts if k[2] == 1]) == 2 * len(archives)


async def test_back_pay_under_single_person_cover_follows_the_covered_member(
    office: Office,
) -> None:
    """A family above the line whose severely disabled head is covered alone (单人保):
    a standard raised from a past date makes up the head's months at the head's own
    gap, not the family's (on the family's figures it would be above the line: none)."""
    spouse_income = URBAN_STANDARD * 2 + 300  # per-capita above the line, under the edge
    members = [
        cover_head("0.00", disabilityGrade=2, disabilityKind="PHYSICAL", covered=True),
        cover_spouse(str(spouse_income)),
    ]
    on(office.runtime, "2026-11-25")
    archive = await submitted(office.api, office.worker, members)
    await cover_to_notice(office.api, office.worker, archive)
    on(office.runtime, "2026-12-09")
    approved = ok(
        await office.api.gql(office.reviewer, APPROVE, {"a": archive}), "approveApplication"
    )
    assert Decimal(approved["monthlyBenefit"]) == URBAN_STANDARD  # the head's own gap
    ok(await office.api.gql(office.reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
    for month in ("2027-01", "2027-02"):
        on(office.runtime, f"{month}-05")
        await office.batch(month)
    on(office.runtime, "2027-02-20")
    raised = URBAN_STANDARD + Decimal("35.55")
    await office.standard(str(raised), "2027-01-01")
    on(office.runtime, "2027-03-05")
    march = await office.batch("2027-03")
    assert (march["created"], march["backPay"]) == (1, 2)
    assert await office.lines(archive) == [
        ("2027-01", "REGULAR", str(URBAN_STANDARD)),
        ("2027-01", "BACK_PAY", "35.55"),
        ("2027-02", "REGULAR", str(URBAN_STANDARD)),
        ("2027-02", "BACK_PAY", "35.55"),
        ("2027-03", "REGULAR", str(raised)),
    ]
