"""The statistics' tallies (migration 0026) are kept by the database: after every kind
of change to households and payments they must equal the tallies counted afresh from
the archive, whatever wrote the change (the service, SQL, an import, a seed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update

from domain.enums import HouseholdStatus
from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import Household, HouseholdTally, Payment, PaymentTally, new_id
from store.seed import seed
from store.tallies import counted_households, counted_payments
from store.timeliness import tallied
from store.types import utcnow
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import OTHER_COUNTY_VILLAGE, RURAL_VILLAGE, URBAN_VILLAGE, issue_token
from tests.workflow.test_duplicates import household, person
from tests.workflow.test_import import good, write_csv

STATS = """query($p: String!, $r: String) { statistics(period: $p, region: $r) {
  byStatus { area status households } payments { area status payments amount } } }"""


async def _assert_kept(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        kept = {
            tuple(row)
            for row in await session.execute(
                select(
                    HouseholdTally.county_code,
                    HouseholdTally.area,
                    HouseholdTally.status,
                    HouseholdTally.households,
                ).where(HouseholdTally.households != 0)
            )
        }
        assert kept == {tuple(row) for row in await session.execute(counted_households())}
        paid = {
            tuple(row)
            for row in await session.execute(
                select(
                    PaymentTally.county_code,
                    PaymentTally.period,
                    PaymentTally.area,
                    PaymentTally.status,
                    PaymentTally.payments,
                    PaymentTally.amount,
                ).where((PaymentTally.payments != 0) | (PaymentTally.amount != Decimal("0.00")))
            )
        }
        assert paid == {tuple(row) for row in await session.execute(counted_payments())}


async def _payment(runtime: Runtime, archive_no: str, period: str, amount: str) -> str:
    payment_id = new_id()
    async with runtime.sessions.begin() as session:
        await session.execute(
            insert(Payment).values(
                id=payment_id, archive_no=archive_no, county_code=archive_no[:6], period=period,
                amount=Decimal(amount), status="PENDING", created_at=utcnow(),
                updated_at=utcnow(),
            )
        )  # fmt: skip
    return payment_id


async def _statistics(api: Api, token: str, period: str, region: str | None) -> Any:
    body = await api.gql(token, STATS, {"p": period, "r": region})
    assert "errors" not in body, body
    return body["data"]["statistics"]


async def test_the_tallies_equal_the_archive_after_every_change(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await seed(runtime.engine, runtime.cipher, households=60, seed=3)
    await _assert_kept(runtime)

    # inserts through the store, then status changes
    a = await household(runtime, URBAN_VILLAGE, "ACTIVE", person("220183"))
    b = await household(runtime, RURAL_VILLAGE, "NOTICE", person("220183"))
    c = await household(runtime, OTHER_COUNTY_VILLAGE, "SUBMITTED", person("520121"))
    await _assert_kept(runtime)
    for archive_no, status in ((a, "SUSPENDED"), (b, "APPROVED"), (c, "ACTIVE"), (a, "ACTIVE")):
        async with runtime.sessions.begin() as session:
            await session.execute(
                update(Household).where(Household.archive_no == archive_no).values(status=status)
            )
        await _assert_kept(runtime)

    # payments: made, paid, corrected, moved to another month, removed
    first = await _payment(runtime, a, "2030-01", "512.30")
    second = await _payment(runtime, a, "2030-02", "512.30")
    await _payment(runtime, c, "2030-01", "300.00")
    await _assert_kept(runtime)
    for values in ({"status": "DISBURSED"}, {"amount": Decimal("498.07")}, {"period": "2030-03"}):
        async with runtime.sessions.begin() as session:
            await session.execute(update(Payment).where(Payment.id == first).values(**values))
        await _assert_kept(runtime)
    async with runtime.sessions.begin() as session:
        await session.execute(delete(Payment).where(Payment.id == second))
    await _assert_kept(runtime)

    # a household moved to the other track takes its payments' tallies along, and
    # one statement changing many households at once
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Household).where(Household.archive_no == a).values(area="RURAL")
        )
    await _assert_kept(runtime)
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Household)
            .where(Household.archive_no.startswith("220183"), Household.status == "ACTIVE")
            .values(status="SUSPENDED")
        )
    await _assert_kept(runtime)

    # an import through the CLI
    register = write_csv(tmp_path / "register.csv", good("JL-TALLY-1"))
    run = await adibao(settings, "import", "archives", str(register))
    assert run.returncode == 0, run.stderr
    await _assert_kept(runtime)

    # a seed into the archive that holds them (on PostgreSQL: loaded with the triggers
    # off, the tallies counted afresh)
    await seed(runtime.engine, runtime.cipher, households=40, seed=4)
    await _assert_kept(runtime)

    # and read through the API: a province from the tallies, a township from the rows,
    # the same figures as the county the tallies hold alone
    reviewer = await issue_token(runtime, "county_reviewer", "*")
    whole = await _statistics(api, reviewer, "2030-03", None)
    assert whole["payments"] == [
        {"area": "RURAL", "status": "DISBURSED", "payments": 1, "amount": "498.07"}
    ]
    township = await _statistics(api, reviewer, "2030-03", "220183100")
    county = await _statistics(api, reviewer, "2030-03", "220183")
    assert township["payments"] == county["payments"] == whole["payments"]

    # a county's households by status, from its tallies, are its households' own: a
    # group of one household is one row, and a tally that fell back to zero is none
    # (c's county, 520121, holds few households: a status none of them has is there)
    county_code = c[:6]

    async def county_agrees() -> list[tuple[str, str, int]]:
        async with runtime.sessions() as session:
            archive = (await session.execute(counted_households())).all()
        want = sorted((area, status, n) for code, area, status, n in archive if code == county_code)
        got = await _statistics(api, reviewer, "2030-03", county_code)
        assert sorted((r["area"], r["status"], r["households"]) for r in got["byStatus"]) == want
        return want

    async with runtime.sessions() as session:
        area, before = (
            await session.execute(
                select(Household.area, Household.status).where(Household.archive_no == c)
            )
        ).one()
    held = {status for a, status, _ in await county_agrees() if a == area}
    rare = next((s.value for s in HouseholdStatus if s.value not in held), None)
    assert rare is not None, held
    for status in (rare, before):
        async with runtime.sessions.begin() as session:
            await session.execute(
                update(Household).where(Household.archive_no == c).values(status=status)
            )
        if status == rare:
            assert (area, rare, 1) in await county_agrees()
    async with runtime.sessions() as session:
        zero = await session.scalar(
            select(HouseholdTally.households).where(
                HouseholdTally.county_code == county_code,
                HouseholdTally.area == area,
                HouseholdTally.status == rare,
            )
        )
    assert zero == 0  # the row is kept at zero: statistics must leave it out
    assert (area, rare) not in {(a, s) for a, s, _ in await county_agrees()}


def test_the_tallies_serve_a_county_or_wider_within_the_scope() -> None:
    assert tallied("", None) == ""
    assert tallied("22", None) == "22"
    assert tallied("22", "220183") == "220183"
    assert tallied("220183", "22") == "220183"
    assert tallied("220183100", None) is None  # a township: its rows
    assert tallied("22", "220183100") is None
    assert tallied("22", "52") is None  # a region outside the scope: read as before
