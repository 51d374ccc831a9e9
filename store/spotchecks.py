"""County spot checks (抽查): the month's township-reviewed cases, the draw recorded.

Candidates are the county's households, inside the caller's scope, with a township
review recorded in the month (Beijing time) and still waiting for the county's
decision: only those can still be held for a visit. One draw per county and month
(a unique key), so a second draw is a CONFLICT, never a second chance.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import HouseholdStatus
from domain.errors import Conflict, InvalidInput
from domain.spotcheck import MAX_CANDIDATES, draw
from domain.workflow import Step
from store.households import code_prefix, in_scope
from store.models import Household, Review, SpotCheck, SpotCheckCase, new_id
from store.payments import check_county
from store.periods import month_start

WAITING = (HouseholdStatus.TOWNSHIP_REVIEWED.value, HouseholdStatus.NOTICE.value)


@dataclass(frozen=True, slots=True)
class Drawn:
    check: SpotCheck
    drawn: list[str]


def _following(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


async def candidates(session: AsyncSession, *, county: str, period: str, scope: str) -> list[str]:
    reviewed = (
        select(Review.id)
        .where(
            Review.archive_no == Household.archive_no,
            Review.step == Step.TOWNSHIP_REVIEW.value,
            Review.created_at >= month_start(period),
            Review.created_at < month_start(_following(period)),
        )
        .exists()
    )
    stmt = (
        select(Household.archive_no)
        .where(
            in_scope(scope),
            code_prefix(Household.archive_no, county),
            Household.status.in_(WAITING),
            reviewed,
        )
        .order_by(Household.archive_no)
        .limit(MAX_CANDIDATES + 1)
    )
    found = list((await session.scalars(stmt)).all())
    if len(found) > MAX_CANDIDATES:
        raise InvalidInput(f"period: more than {MAX_CANDIDATES} cases", field="period")
    return found


async def draw_spot_check(
    session: AsyncSession,
    *,
    county: str,
    period: str,
    share: Decimal,
    scope: str,
    actor: str,
    now: dt.datetime,
) -> Drawn:
    await check_county(session, county_code=county, scope=scope)
    taken = await session.scalar(
        select(SpotCheck.id).where(SpotCheck.county_code == county, SpotCheck.period == period)
    )
    if taken is not None:
        raise Conflict(f"period: the county's spot check of {period} is drawn", field="period")
    found = await candidates(session, county=county, period=period, scope=scope)
    seed = secrets.randbits(63)  # unpredictable to the townships, recorded for everyone
    drawn = draw(found, seed=seed, share=share)
    values = {
        "id": new_id(),
        "county_code": county,
        "period": period,
        "share": str(share),
        "seed": str(seed),
        "candidates": len(found),
        "drawn_by": actor,
        "drawn_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # of two draws at once the unique key lets one in; the other inserts nothing (an
    # IntegrityError would leave a PostgreSQL transaction aborted)
    made = await session.scalar(
        insert_for(SpotCheck)
        .values(values)
        .on_conflict_do_nothing(index_elements=[SpotCheck.county_code, SpotCheck.period])
        .returning(SpotCheck.id)
    )
    if made is None:
        raise Conflict(f"period: the county's spot check of {period} is drawn", field="period")
    check = SpotCheck(**values)
    if drawn:
        await session.execute(
            insert(SpotCheckCase), [{"spot_check_id": check.id, "archive_no": a} for a in drawn]
        )
    return Drawn(check=check, drawn=drawn)
