"""Scope is read off the archive number, so the database must keep every archive
number starting with its household's village code (migration 0008)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from gateway.runtime import Runtime
from store.households import HouseholdFilter, in_scope, page_households
from store.models import Household, Region
from store.seed import seed


async def test_archive_number_and_village_cannot_part(runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=5, seed=1)
    async with runtime.sessions() as session:
        archive, village = (
            await session.execute(select(Household.archive_no, Household.village_code).limit(1))
        ).one()
        # another village that exists (the foreign key must not be what refuses)
        other = await session.scalar(
            select(Region.code)
            .where(func.length(Region.code) == 12, Region.code != village)
            .limit(1)
        )
    assert other is not None
    with pytest.raises(DBAPIError, match=r"archive_in_village|archive number must begin"):
        async with runtime.sessions.begin() as session:
            await session.execute(
                update(Household).where(Household.archive_no == archive).values(village_code=other)
            )
    async with runtime.sessions() as session:
        assert (
            await session.scalar(
                select(Household.village_code).where(Household.archive_no == archive)
            )
        ) == village
        # and the scope on the archive number finds exactly the village's households
        in_village = (
            await session.scalars(select(Household.archive_no).where(in_scope(village)))
        ).all()
        assert archive in in_village
        assert all(a.startswith(village) for a in in_village)
        rows, _ = await page_households(
            session, flt=HouseholdFilter(scope=village[:6]), first=50, after=None,
            today=dt.date.today(),
        )  # fmt: skip
        assert rows and all(r.village_code.startswith(village[:6]) for r in rows)
