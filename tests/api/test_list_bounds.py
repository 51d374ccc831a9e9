"""A household's nested lists return no more than the bound the cost model prices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from domain import bounds
from gateway.runtime import Runtime
from schema.pricing import pricing
from schema.root import build_schema
from store import models
from store.seed import seed
from tests.conftest import Api
from tests.helpers import issue_token

pytestmark = pytest.mark.both_paths

# each nested list loaded per household, its table, and the bound that caps it
LISTS = {
    "members": (models.Member, "MEMBERS"),
    "reviews": (models.Review, "REVIEWS"),
    "payments": (models.Payment, "PAYMENTS"),
    "assets": (models.Asset, "ASSETS"),
    "changes": (models.ChangeReport, "CHANGES"),
    "objections": (models.Objection, "OBJECTIONS"),
    "benefitHistory": (models.BenefitHistory, "BENEFIT_HISTORY"),
}
ONE = """query($a: String!) { household(archiveNo: $a) {
  members { name } reviews { step } payments { period } assets { kind }
  changes { kind } objections { text } benefitHistory { amount } } }"""
MEMBERS = "query($a: String!) { household(archiveNo: $a) { members { relation } } }"


def test_the_cost_model_prices_the_bounds_the_store_applies() -> None:
    declared = pricing(build_schema()).bounds
    for name, (_, bound) in LISTS.items():
        assert declared[f"Household.{name}"] == getattr(bounds, bound), name


async def test_every_nested_list_is_cut_at_its_bound(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(runtime.engine, runtime.cipher, households=60, seed=5)
    reviewer = await issue_token(runtime, "county_reviewer", "*")
    async with runtime.sessions() as session:
        fullest = {}
        for name, (model, _) in LISTS.items():
            rows = select(model.archive_no, func.count().label("n")).group_by(model.archive_no)
            if model is models.Member:
                rows = rows.where(models.Member.active)
            found = (await session.execute(rows.order_by(func.count().desc()).limit(1))).first()
            if found is not None and found.n >= 2:
                fullest[name] = found.archive_no
    assert {"members", "reviews", "payments"} <= fullest.keys(), fullest
    for _, bound in LISTS.values():
        monkeypatch.setattr(bounds, bound, 1)
    for name, archive_no in fullest.items():
        body = await api.gql(reviewer, ONE, {"a": archive_no})
        assert "errors" not in body, body
        assert len(body["data"]["household"][name]) == 1, name


async def test_the_newest_payments_are_the_ones_kept(api: Api, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=10, seed=3)
    async with runtime.sessions.begin() as session:
        household = await session.scalar(
            select(models.Household).where(models.Household.status == "ACTIVE").limit(1)
        )
        assert household is not None
        await session.execute(
            models.Payment.__table__.delete().where(
                models.Payment.archive_no == household.archive_no
            )
        )
        first = dt.date(2000, 1, 1)
        periods = [
            f"{first.year + (first.month - 1 + i) // 12}-{(first.month - 1 + i) % 12 + 1:02d}"
            for i in range(bounds.PAYMENTS + 5)
        ]
        await session.execute(
            insert(models.Payment),
            [
                {
                    "archive_no": household.archive_no,
                    "county_code": household.archive_no[:6],
                    "period": period,
                    "amount": Decimal("100.00"),
                    "status": "DISBURSED",
                }
                for period in periods
            ],
        )
    reviewer = await issue_token(runtime, "county_reviewer", "*")
    query = "query($a: String!) { household(archiveNo: $a) { payments { period } } }"
    body = await api.gql(reviewer, query, {"a": household.archive_no})
    assert "errors" not in body, body
    shown = [p["period"] for p in body["data"]["household"]["payments"]]
    assert shown == periods[-bounds.PAYMENTS :]


async def test_members_are_cut_alike_on_both_paths(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled path reads members itself: it cuts them as the loader does."""
    await seed(runtime.engine, runtime.cipher, households=30, seed=9)
    async with runtime.sessions() as session:
        archive_no = await session.scalar(
            select(models.Member.archive_no)
            .where(models.Member.active)
            .group_by(models.Member.archive_no)
            .having(func.count() >= 3)
            .limit(1)
        )
        relations = (
            await session.scalars(
                select(models.Member.relation)
                .where(models.Member.archive_no == archive_no, models.Member.active)
                .order_by(models.Member.position)
            )
        ).all()
    assert archive_no is not None
    monkeypatch.setattr(bounds, "MEMBERS", 2)
    reviewer = await issue_token(runtime, "county_reviewer", "*")
    body = await api.gql(reviewer, MEMBERS, {"a": archive_no})
    assert "errors" not in body, body
    assert [m["relation"] for m in body["data"]["household"]["members"]] == list(relations[-2:])
