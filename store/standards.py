"""Local standards per county and track, and what a change of standard does.

A new standard closes its predecessor the day before it starts, recomputes
the benefit of every ACTIVE or SUSPENDED household of that county and track
(their benefit derives from the standard) and flags each one whose amount
changed for re-review. In benefit_history, every entry in force from the
standard's date (even a past one) is restated at the new standard on the
household it was computed on, so each month is due what the new standard gives
the household of that month. A household in its gradual exit keeps the amount it had
(渐退): its income is above the line, so no standard's amount is its own.

A standard from a past date makes the months already paid since then due at the
new amount: the next payment batch adds the difference as back pay (补发,
store/payments.py). A lower one changes the months to come only.

A standard that has not taken effect yet can be replaced: a new standard
starting on or before it withdraws it. The withdrawn row is kept, with its end
the day before its start (never in force), so who set it stays on record; a
standard that has taken effect is never withdrawn, and a new one must start
after it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.benefit import MARGINAL_MULTIPLE
from domain.enums import Area, HouseholdStatus
from domain.errors import Conflict
from store.benefits import history_of, record, restate_at_standard
from store.households import code_prefix
from store.models import Household, Member, Standard
from store.workflow import (
    benefit_for,
    figures_of,
    flag_for_review,
    flush_or_conflict,
    remark_marginal,
)

# households whose benefit derives from the standard (a suspended one is still granted)
RECOMPUTED = (HouseholdStatus.ACTIVE.value, HouseholdStatus.SUSPENDED.value)
REASON = "local standard changed"


@dataclass(frozen=True, slots=True)
class StandardChange:
    standard: Standard
    recomputed: int
    flagged: list[str]  # archive numbers whose benefit changed


async def list_standards(session: AsyncSession, *, county_code: str) -> Sequence[Standard]:
    rows = await session.scalars(
        select(Standard)
        .where(Standard.county_code == county_code)
        .order_by(Standard.area, Standard.effective_from)
    )
    return rows.all()


async def set_standard(
    session: AsyncSession,
    *,
    county_code: str,
    area: Area,
    amount: Decimal,
    effective_from: dt.date,
    today: dt.date,
    actor: str,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
) -> StandardChange:
    rows = (
        await session.scalars(
            select(Standard)
            .where(Standard.county_code == county_code, Standard.area == area.value)
            .order_by(Standard.effective_from)
            .with_for_update()
        )
    ).all()
    live = [r for r in rows if r.effective_to is None or r.effective_to >= r.effective_from]
    for standard in live:
        if standard.effective_from > today and standard.effective_from >= effective_from:
            standard.effective_to = standard.effective_from - dt.timedelta(days=1)  # withdrawn
    remaining = [r for r in live if r.effective_to is None or r.effective_to >= r.effective_from]
    if remaining:
        previous = remaining[-1]
        if previous.effective_from >= effective_from:
            raise Conflict(
                f"effectiveFrom: a standard in force since {previous.effective_from}; "
                "a new one must start later",
                field="effectiveFrom",
            )
        previous.effective_to = effective_from - dt.timedelta(days=1)
    new = Standard(
        county_code=county_code,
        area=area.value,
        monthly_amount=amount,
        effective_from=effective_from,
        created_by=actor,
    )
    session.add(new)
    await session.flush()  # the new standard is in force for what follows
    # the edge line moves with the standard in force today (低保边缘家庭)
    await remark_marginal(
        session, county_code=county_code, area=area, today=today, multiple=marginal_multiple
    )
    recomputed, flagged = await _recompute(
        session,
        county_code=county_code,
        area=area,
        amount=amount,
        on=effective_from,
        actor=actor,
        multiple=marginal_multiple,
        today=today,
    )
    await flush_or_conflict(session)
    return StandardChange(standard=new, recomputed=recomputed, flagged=flagged)


async def _recompute(
    session: AsyncSession,
    *,
    county_code: str,
    area: Area,
    amount: Decimal,
    on: dt.date,
    actor: str,
    multiple: Decimal,
    today: dt.date,
) -> tuple[int, list[str]]:
    households = (
        await session.scalars(
            select(Household).where(
                code_prefix(Household.village_code, county_code),
                Household.area == area.value,
                Household.status.in_(RECOMPUTED),
            )
        )
    ).all()
    if not households:
        return 0, []
    members: dict[str, list[Member]] = defaultdict(list)
    rows = await session.scalars(
        select(Member).where(
            Member.archive_no.in_([h.archive_no for h in households]), Member.active
        )
    )
    for member in rows.all():
        members[member.archive_no].append(member)
    history = await history_of(session, [h.archive_no for h in households])
    flagged: list[str] = []
    for household in households:
        found = members[household.archive_no]
        # the figures of the household, or of its covered members (单人保)
        current = figures_of(household, found)
        entries = history.get(household.archive_no, [])
        this_month = today.replace(day=1)
        if not entries and (household.monthly_benefit or 0) > 0 and on > this_month:
            # an imported household with no history yet: what it is paid now stays in
            # force until the new standard starts, or the batch would pay nothing
            record(
                session,
                household.archive_no,
                household.monthly_benefit or Decimal("0.00"),
                day=this_month,
                figures=current,
                reason="benefit in force before the standard",
                actor=actor,
            )
        restate_at_standard(
            session,
            household.archive_no,
            entries,
            standard=amount,
            on=on,
            now=current,
            reason=REASON,
            actor=actor,
        )
        # None: above the new line (whole households; or 单人保 past the edge line)
        benefit = benefit_for(household, found, amount, multiple)
        benefit = Decimal("0.00") if benefit is None else benefit
        if benefit == household.monthly_benefit:
            continue
        flagged.append(household.archive_no)
        if benefit == 0:
            # above the new line: never an ACTIVE household with a zero benefit that the
            # batch would skip; it keeps its amount and is due for its check from that
            # day, which moves it into its gradual exit (store/chain.py complete_review)
            flag_for_review(household, on=on, reason=f"{REASON}: above the line")
            continue
        household.monthly_benefit = benefit
        flag_for_review(household, on=on, reason=REASON)
    return len(households), flagged
