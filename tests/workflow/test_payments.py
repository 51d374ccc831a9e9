"""Monthly payment batches and disbursement, through the public API, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.application import ApplicationDraft, MemberDraft, validate_application
from domain.enums import Relation
from domain.idnumber import make_id_number
from gateway.runtime import Runtime
from resolvers.context import CHINA_TIME
from store.applications import submit_application
from store.models import BenefitHistory, Household, Payment, PaymentBatch, Review
from store.types import utcnow
from tests.conftest import Api
from tests.helpers import (
    OTHER_COUNTY_VILLAGE,
    RURAL_VILLAGE,
    URBAN_VILLAGE,
    issue_token,
    load_regions,
)

COUNTY = "220183"
BANK = "6222021234567890123"
GENERATE = """mutation($c: String!, $p: String!) {
  generatePayments(countyCode: $c, period: $p) {
    batchId countyCode period created retried skipped totalAmount
  }
}"""
RECORD = """mutation($id: ID!, $o: PaymentStatus!, $ref: String, $why: String) {
  recordDisbursement(paymentId: $id, outcome: $o, bankReference: $ref, failureReason: $why) {
    id period amount status bankReference failureReason attempts batchId
  }
}"""
BATCHES = """query($c: String!, $p: String) {
  paymentBatches(countyCode: $c, period: $p) {
    id countyCode period createdAt createdBy count totalAmount
    byStatus { status count amount }
  }
}"""
PAYMENTS = """query($a: String!) {
  household(archiveNo: $a) {
    payments { id period amount status bankAccount batchId attempts failureReason }
  }
}"""

_people = itertools.count()


async def household(
    runtime: Runtime,
    *,
    village: str = URBAN_VILLAGE,
    benefit: str | None = "500.00",
    status: str = "ACTIVE",
    bank: str | None = BANK,
    history: Sequence[tuple[dt.date, str]] = (),
    approved: dt.datetime | None = dt.datetime(2026, 1, 15, tzinfo=dt.UTC),
) -> str:
    """An archive written straight through the store (fast), then set to its status.

    It is recorded as approved on `approved` (an APPROVE review), as imported
    archives are: payments are only ever due from the month after approval.
    """
    n = next(_people)
    number = make_id_number(village[:6], dt.date(1950, 1, 1) + dt.timedelta(days=n), n % 1000)
    valid = validate_application(
        ApplicationDraft(
            village_code=village,
            members=[
                MemberDraft(
                    name="王建国",
                    id_number=number,
                    relation=Relation.HEAD,
                    monthly_income=Decimal("100.00"),
                )
            ],
            bank_account=bank,
            bank_name="农村信用社" if bank else None,
        ),
        today=dt.date(2026, 1, 1),
    )
    async with runtime.sessions.begin() as session:
        row = await submit_application(
            session,
            runtime.cipher,
            application=valid,
            scope="",
            actor="test",
            actor_role="caseworker",
            now=utcnow(),
            before_claim_check=lambda _: None,  # seeding, not a request: nothing to charge
        )
        row.status = status
        row.monthly_benefit = None if benefit is None else Decimal(benefit)
        if approved is not None:
            session.add(
                Review(
                    archive_no=row.archive_no,
                    step="APPROVE",
                    from_status="NOTICE",
                    to_status="APPROVED",
                    actor="test",
                    actor_role="county_reviewer",
                    created_at=approved,
                )
            )
        for effective_from, amount in history:
            session.add(
                BenefitHistory(
                    archive_no=row.archive_no,
                    amount=Decimal(amount),
                    effective_from=effective_from,
                    reason="test",
                    created_by="test",
                )
            )
    return row.archive_no


async def generate(api: Api, token: str, period: str, county: str = COUNTY) -> dict[str, Any]:
    return await api.gql(token, GENERATE, {"c": county, "p": period})


def result(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]["generatePayments"]
    return data


def error(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    first: dict[str, Any] = body["errors"][0]
    return first


async def payments_of(api: Api, token: str, archive_no: str) -> list[dict[str, Any]]:
    body = await api.gql(token, PAYMENTS, {"a": archive_no})
    assert "errors" not in body, body
    rows: list[dict[str, Any]] = body["data"]["household"]["payments"]
    return rows


async def record(
    api: Api,
    token: str,
    payment_id: str,
    outcome: str,
    *,
    ref: str | None = None,
    why: str | None = None,
) -> dict[str, Any]:
    return await api.gql(token, RECORD, {"id": payment_id, "o": outcome, "ref": ref, "why": why})


async def per_household_period(runtime: Runtime) -> dict[tuple[str, str], int]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Payment.archive_no, Payment.period, func.count()).group_by(
                Payment.archive_no, Payment.period
            )
        )
        return {(a, p): int(c) for a, p, c in rows.all()}


@pytest.fixture
async def finance(runtime: Runtime) -> str:
    await load_regions(runtime)
    return await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")


async def test_one_pending_payment_per_active_household_with_the_benefit_in_force(
    api: Api, runtime: Runtime, finance: str
) -> None:
    paid = [
        await household(runtime, benefit="333.33"),
        await household(runtime, village=RURAL_VILLAGE, benefit="333.33"),
        await household(runtime, benefit="333.34"),
    ]
    zero = await household(runtime, benefit="0.00")
    await household(runtime, benefit=None)
    await household(runtime, status="SUSPENDED")
    await household(runtime, status="NOTICE")
    await household(runtime, village=OTHER_COUNTY_VILLAGE)

    first = result(await generate(api, finance, "2026-05"))
    assert first["countyCode"] == COUNTY
    assert first["period"] == "2026-05"
    assert (first["created"], first["retried"], first["skipped"]) == (3, 0, 2)
    assert first["totalAmount"] == "1000.00"
    for archive_no, amount in zip(paid, ["333.33", "333.33", "333.34"], strict=True):
        [payment] = await payments_of(api, finance, archive_no)
        assert payment["period"] == "2026-05"
        assert payment["amount"] == amount
        assert payment["status"] == "PENDING"
        assert payment["batchId"] == first["batchId"]
        assert payment["attempts"] == 1
        assert payment["bankAccount"] == BANK  # copied and sealed to the payment row
    assert await payments_of(api, finance, zero) == []

    again = result(await generate(api, finance, "2026-05"))
    assert (again["created"], again["retried"], again["skipped"]) == (0, 0, 5)
    assert again["totalAmount"] == "0.00"
    assert again["batchId"] != first["batchId"]
    assert set((await per_household_period(runtime)).values()) == {1}
    assert len(await per_household_period(runtime)) == 3


async def test_benefit_history_decides_the_amount_of_each_month(
    api: Api, runtime: Runtime, finance: str
) -> None:
    archive_no = await household(
        runtime,
        benefit="500.00",
        history=[
            (dt.date(2026, 3, 1), "400.00"),
            (dt.date(2026, 6, 30), "450.00"),
            (dt.date(2026, 8, 1), "480.00"),
        ],
    )
    for period in ("2026-02", "2026-03", "2026-05", "2026-06", "2026-07", "2026-09"):
        result(await generate(api, finance, period))
    amounts = {p["period"]: p["amount"] for p in await payments_of(api, finance, archive_no)}
    assert amounts == {  # 2026-02: before the first amount granted, nothing is due
        "2026-03": "400.00",
        "2026-05": "400.00",
        "2026-06": "450.00",  # in force on the last day of the month
        "2026-07": "450.00",
        "2026-09": "480.00",
    }


async def test_two_batches_at_once_pay_each_household_once(
    api: Api, runtime: Runtime, finance: str
) -> None:
    archives = [await household(runtime, benefit=f"{300 + i}.50") for i in range(4)]
    one, two = await asyncio.gather(
        generate(api, finance, "2026-05"), generate(api, finance, "2026-05")
    )
    created = [result(one)["created"], result(two)["created"]]
    assert sorted(created) == [0, 4]
    counts = await per_household_period(runtime)
    assert counts == {(a, "2026-05"): 1 for a in archives}


@pytest.mark.postgres_only
async def test_racing_batches_on_postgres_never_pay_twice_nor_retry_twice(
    api: Api, runtime: Runtime, finance: str
) -> None:
    archives = [await household(runtime, benefit=f"{400 + i}.25") for i in range(10)]
    periods = ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08"]
    failed_before: set[str] = set()
    for round_, period in enumerate(periods):
        bodies = await asyncio.gather(
            generate(api, finance, period),
            generate(api, finance, period),
            generate(api, finance, period),
        )
        results = [result(b) for b in bodies]
        assert sum(r["created"] for r in results) == 10, results
        assert sum(r["retried"] for r in results) == len(failed_before), results
        assert sum(Decimal(r["totalAmount"]) for r in results) == sum(
            (Decimal(f"{400 + i}.25") for i in range(10)), Decimal(0)
        ) + Decimal("401.25") * len(failed_before)
        counts = await per_household_period(runtime)
        assert set(counts.values()) == {1}
        assert len(counts) == 10 * (round_ + 1)
        # fail this period's payment of household 1, for the next round to retry
        [pending] = [
            p
            for p in await payments_of(api, finance, archives[1])
            if p["period"] == period and p["status"] == "PENDING"
        ]
        assert "errors" not in await record(api, finance, pending["id"], "FAILED", why="closed")
        failed_before = {pending["id"]}
    async with runtime.sessions() as session:
        attempts = (
            await session.scalars(select(Payment.attempts).where(Payment.archive_no == archives[1]))
        ).all()
    assert sorted(attempts) == [1, 2, 2, 2, 2]  # the last period's failure awaits the next batch


async def test_record_disbursement_only_from_pending(
    api: Api, runtime: Runtime, finance: str
) -> None:
    first, second = await household(runtime), await household(runtime)
    result(await generate(api, finance, "2026-05"))
    [p1] = await payments_of(api, finance, first)
    [p2] = await payments_of(api, finance, second)

    missing = error(await record(api, finance, p1["id"], "DISBURSED"))
    assert missing["extensions"] == {"code": "BAD_USER_INPUT", "field": "bankReference"}
    pending = error(await record(api, finance, p1["id"], "PENDING"))
    assert pending["extensions"]["code"] == "BAD_USER_INPUT"
    no_reason = error(await record(api, finance, p2["id"], "FAILED", why="  "))
    assert no_reason["extensions"] == {"code": "BAD_USER_INPUT", "field": "failureReason"}

    done = await record(api, finance, p1["id"], "DISBURSED", ref="BOC-20260531-0001")
    assert done["data"]["recordDisbursement"]["status"] == "DISBURSED"
    assert done["data"]["recordDisbursement"]["bankReference"] == "BOC-20260531-0001"
    failed = await record(api, finance, p2["id"], "FAILED", why="account closed")
    assert failed["data"]["recordDisbursement"]["status"] == "FAILED"
    assert failed["data"]["recordDisbursement"]["failureReason"] == "account closed"

    again = error(await record(api, finance, p1["id"], "FAILED", why="bounced"))
    assert again["extensions"]["code"] == "CONFLICT"
    assert "payment is DISBURSED, only PENDING payments can be recorded" in again["message"]
    again = error(await record(api, finance, p2["id"], "DISBURSED", ref="X-1"))
    assert again["extensions"]["code"] == "CONFLICT"
    assert "payment is FAILED" in again["message"]
    [still] = await payments_of(api, finance, first)
    assert (still["status"], still["failureReason"]) == ("DISBURSED", None)

    unknown = error(await record(api, finance, "0" * 32, "DISBURSED", ref="X-2"))
    assert unknown["extensions"] == {"code": "NOT_FOUND", "field": "paymentId"}
    guizhou = await issue_token(runtime, "finance_officer", "520121")
    elsewhere = error(await record(api, guizhou, p1["id"], "FAILED", why="x"))
    assert elsewhere["extensions"]["code"] == "NOT_FOUND"  # out of scope: does not exist


async def test_two_recordings_at_once_exactly_one_wins(
    api: Api, runtime: Runtime, finance: str
) -> None:
    archive_no = await household(runtime)
    result(await generate(api, finance, "2026-05"))
    [payment] = await payments_of(api, finance, archive_no)
    bodies = await asyncio.gather(
        record(api, finance, payment["id"], "DISBURSED", ref="A-1"),
        record(api, finance, payment["id"], "FAILED", why="bounced"),
    )
    won = [b for b in bodies if "errors" not in b]
    lost = [b for b in bodies if "errors" in b]
    assert len(won) == 1
    assert [b["errors"][0]["extensions"]["code"] for b in lost] == ["CONFLICT"]


async def test_a_failed_payment_is_retried_in_the_next_batch(
    api: Api, runtime: Runtime, finance: str
) -> None:
    failing, fine = await household(runtime, benefit="610.00"), await household(runtime)
    may = result(await generate(api, finance, "2026-05"))
    [payment] = await payments_of(api, finance, failing)
    [other] = await payments_of(api, finance, fine)
    assert "errors" not in await record(api, finance, payment["id"], "FAILED", why="closed")
    assert "errors" not in await record(api, finance, other["id"], "DISBURSED", ref="R-1")
    # the household reports a new account before the retry
    new_account = "6217000011112222333"
    async with runtime.sessions.begin() as session:
        row = await session.get(Household, failing)
        assert row is not None
        row.bank_account_enc = runtime.cipher.encrypt(
            new_account, table="households", column="bank_account", row_id=failing
        )

    june = result(await generate(api, finance, "2026-06"))
    assert (june["created"], june["retried"]) == (2, 1)
    assert june["totalAmount"] == "1720.00"  # 610 + 500 new, 610 retried
    may_payment = next(
        p for p in await payments_of(api, finance, failing) if p["period"] == "2026-05"
    )
    assert may_payment["status"] == "PENDING"
    assert may_payment["attempts"] == 2
    assert may_payment["batchId"] == june["batchId"] != may["batchId"]
    assert may_payment["failureReason"] is None
    assert may_payment["bankAccount"] == new_account
    [old_other] = [p for p in await payments_of(api, finance, fine) if p["period"] == "2026-05"]
    assert (old_other["status"], old_other["attempts"]) == ("DISBURSED", 1)

    july = result(await generate(api, finance, "2026-07"))
    assert (july["created"], july["retried"]) == (2, 0)  # it is PENDING now, not FAILED


async def test_two_batches_at_once_retry_a_failed_payment_once(
    api: Api, runtime: Runtime, finance: str
) -> None:
    archives = [await household(runtime) for _ in range(3)]
    result(await generate(api, finance, "2026-05"))
    for archive_no in archives[:2]:
        [payment] = await payments_of(api, finance, archive_no)
        assert "errors" not in await record(api, finance, payment["id"], "FAILED", why="x")
    one, two = await asyncio.gather(
        generate(api, finance, "2026-06"), generate(api, finance, "2026-06")
    )
    assert sorted([result(one)["retried"], result(two)["retried"]]) == [0, 2]
    async with runtime.sessions() as session:
        attempts = (
            await session.scalars(select(Payment.attempts).where(Payment.period == "2026-05"))
        ).all()
    assert sorted(attempts) == [1, 2, 2]


async def test_batch_totals_add_up_to_the_cent(api: Api, runtime: Runtime, finance: str) -> None:
    archives = [
        await household(runtime, benefit="333.33"),
        await household(runtime, benefit="333.33"),
        await household(runtime, benefit="333.34"),
        await household(runtime, benefit="0.10"),
        await household(runtime, benefit="0.20"),
    ]
    batch = result(await generate(api, finance, "2026-05"))
    assert batch["totalAmount"] == "1000.30"
    payments = [(await payments_of(api, finance, a))[0] for a in archives]
    assert "errors" not in await record(api, finance, payments[0]["id"], "DISBURSED", ref="R")
    assert "errors" not in await record(api, finance, payments[3]["id"], "DISBURSED", ref="S")
    assert "errors" not in await record(api, finance, payments[1]["id"], "FAILED", why="x")
    result(await generate(api, finance, "2026-04"))  # an older period: a second batch

    body = await api.gql(finance, BATCHES, {"c": COUNTY, "p": "2026-05"})
    assert "errors" not in body, body
    [summary] = body["data"]["paymentBatches"]
    assert summary["id"] == batch["batchId"]
    assert (summary["countyCode"], summary["period"]) == (COUNTY, "2026-05")
    assert summary["createdBy"] == "fin-dehui"
    assert summary["count"] == 5
    assert summary["totalAmount"] == "1000.30"
    assert summary["byStatus"] == [
        {"status": "PENDING", "count": 2, "amount": "333.54"},
        {"status": "DISBURSED", "count": 2, "amount": "333.43"},
        {"status": "FAILED", "count": 1, "amount": "333.33"},
    ]
    assert sum(Decimal(s["amount"]) for s in summary["byStatus"]) == Decimal("1000.30")

    both = await api.gql(finance, BATCHES, {"c": COUNTY})
    assert [b["period"] for b in both["data"]["paymentBatches"]] == ["2026-05", "2026-04"]
    for role, scope in (("county_reviewer", COUNTY), ("supervisor", "22")):
        token = await issue_token(runtime, role, scope)
        seen = await api.gql(token, BATCHES, {"c": COUNTY})
        assert [b["totalAmount"] for b in seen["data"]["paymentBatches"]] == [
            "1000.30",
            "1000.30",
        ]
    guizhou = await issue_token(runtime, "supervisor", "52")
    assert (await api.gql(guizhou, BATCHES, {"c": COUNTY}))["data"]["paymentBatches"] == []


async def test_out_of_scope_county_and_bad_periods_are_refused(
    api: Api, runtime: Runtime, finance: str
) -> None:
    await household(runtime, village=OTHER_COUNTY_VILLAGE)
    for county in ("520121", "220199", "2201", "22018x", "220183100"):
        refused = error(await generate(api, finance, "2026-05", county=county))
        assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "countyCode"}, county
        assert refused["message"] == "countyCode: no such county in your region"
    today = dt.datetime.now(CHINA_TIME).date()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    too_late = (next_month + dt.timedelta(days=32)).replace(day=1)
    for period in ("2026-5", "2026-13", "2026-00", "26-05", "", too_late.strftime("%Y-%m")):
        refused = error(await generate(api, finance, period))
        assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "period"}, period
    assert result(await generate(api, finance, next_month.strftime("%Y-%m")))["created"] == 0
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 0
        batches = (await session.scalars(select(PaymentBatch.county_code))).all()
    assert batches == [COUNTY]  # refused runs left nothing behind
    guizhou = await issue_token(runtime, "supervisor", "52")
    assert (await api.gql(guizhou, BATCHES, {"c": "520121"}))["data"]["paymentBatches"] == []


async def test_other_roles_are_forbidden(api: Api, runtime: Runtime, finance: str) -> None:
    archive_no = await household(runtime)
    result(await generate(api, finance, "2026-05"))
    [payment] = await payments_of(api, finance, archive_no)
    caseworker = await issue_token(runtime, "caseworker", "220183100")
    denied = error(await generate(api, caseworker, "2026-06"))
    assert denied["extensions"]["code"] == "FORBIDDEN"
    assert "Mutation.generatePayments" in denied["extensions"]["denied"]
    for role, scope in (("county_reviewer", COUNTY), ("supervisor", "22"), ("caseworker", "22")):
        token = await issue_token(runtime, role, scope)
        denied = error(await record(api, token, payment["id"], "DISBURSED", ref="R"))
        assert denied["extensions"]["code"] == "FORBIDDEN", role
    for role, scope in (("caseworker", "220183100"), ("partner", "22"), ("auditor", "*")):
        token = await issue_token(runtime, role, scope)
        denied = error(await api.gql(token, BATCHES, {"c": COUNTY}))
        assert denied["extensions"]["code"] == "FORBIDDEN", role
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentBatch)) == 1
        status = await session.scalar(select(Payment.status).where(Payment.id == payment["id"]))
    assert status == "PENDING"


async def test_households_without_a_bank_account_are_paid_without_one(
    api: Api, runtime: Runtime, finance: str
) -> None:
    archive_no = await household(runtime, bank=None)
    assert result(await generate(api, finance, "2026-05"))["created"] == 1
    [payment] = await payments_of(api, finance, archive_no)
    assert payment["bankAccount"] is None
    # a retry with still no account on file keeps none
    assert "errors" not in await record(api, finance, payment["id"], "FAILED", why="no account")
    assert result(await generate(api, finance, "2026-06"))["retried"] == 1
    retried = next(
        p for p in await payments_of(api, finance, archive_no) if p["period"] == "2026-05"
    )
    assert (retried["status"], retried["bankAccount"]) == ("PENDING", None)


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(20))
async def test_parallel_batches_twenty_times_in_a_row(
    api: Api, runtime: Runtime, finance: str, attempt: int
) -> None:
    archives = [await household(runtime, benefit=f"{500 + i}.10") for i in range(3)]
    bodies = await asyncio.gather(*(generate(api, finance, "2026-09") for _ in range(3)))
    assert sorted(result(b)["created"] for b in bodies) == [0, 0, 3]
    assert await per_household_period(runtime) == {(a, "2026-09"): 1 for a in archives}


async def test_no_payment_for_months_before_approval(
    api: Api, runtime: Runtime, finance: str
) -> None:
    late = await household(runtime, approved=dt.datetime(2026, 6, 10, tzinfo=dt.UTC))
    history = await household(runtime, approved=None, history=[(dt.date(2026, 7, 1), "420.00")])
    before = result(await generate(api, finance, "2026-05"))
    assert before["created"] == 0
    june = result(await generate(api, finance, "2026-06"))
    assert june["created"] == 0  # approved during June: paid from July (下月起), not June
    assert await payments_of(api, finance, late) == []
    july = result(await generate(api, finance, "2026-07"))
    assert july["totalAmount"] == "920.00"  # 500.00 + the 420.00 in force from July
    assert [p["period"] for p in await payments_of(api, finance, late)] == ["2026-07"]
    assert [p["amount"] for p in await payments_of(api, finance, history)] == ["420.00"]


async def test_an_imported_household_is_paid_until_a_later_standard_starts(
    api: Api, runtime: Runtime, finance: str
) -> None:
    """A household with no benefit history (imported before histories were kept) and a
    standard set in December from February: January is still paid what it was paid."""
    archive_no = await household(runtime, benefit="500.00")
    moment = dt.datetime(2026, 12, 10, 2, tzinfo=dt.UTC)
    runtime.clock = lambda: moment
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    body = await api.gql(
        reviewer,
        'mutation { setStandard(countyCode: "220183", area: URBAN, monthlyAmount: "990.00", '
        'effectiveFrom: "2027-02-01") { recomputed } }',
    )
    assert "errors" not in body, body
    result(await generate(api, finance, "2027-01"))
    later = dt.datetime(2027, 1, 10, 2, tzinfo=dt.UTC)
    runtime.clock = lambda: later
    result(await generate(api, finance, "2027-02"))
    amounts = {p["period"]: p["amount"] for p in await payments_of(api, finance, archive_no)}
    assert amounts["2027-01"] == "500.00"
    assert Decimal(amounts["2027-02"]) > Decimal("500.00")
