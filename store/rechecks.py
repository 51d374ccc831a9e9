"""The dynamic management of paid households (动态管理): the periodic re-check
(定期核查), the gradual exit (渐退期) of a household above the line, and its end.

A check moves the next one forward by the household's interval; a household
found above the line keeps its benefit for the configured months, paid by the
batch, and is then terminated with the reason income above the line. Each step
goes through `apply_step` (store/workflow.py) like every other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.benefit import MARGINAL_MULTIPLE, next_month_start
from domain.enums import Area, HouseholdStatus, ReviewOutcome, TerminationReason
from domain.errors import Conflict, InvalidInput
from domain.workflow import ReviewClass, Step, gradual_exit_end
from store.benefits import grant_from
from store.chain import terminate
from store.households import code_prefix, in_scope, standards_in_force
from store.models import Household, Member
from store.workflow import (
    CST,
    Effect,
    active_members,
    apply_step,
    benefit_for,
    figures_of,
    schedule_review,
)


async def enter_gradual_exit(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
    months: int,
    why: str,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
) -> None:
    """Income above the line: the benefit is kept for `months`, then the case ends."""
    await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.ENTER_GRADUAL_EXIT,
        reason=why,
        details={"months": months},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=_gradual(months),
        marginal_multiple=marginal_multiple,
    )


def _gradual(months: int) -> Effect:
    async def entering(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.gradual_exit_until = gradual_exit_end(today, months)
        household.next_review_on = None  # leaving: no further periodic check
        household.review_flag = None

    return entering


async def complete_review(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    outcome: ReviewOutcome,
    findings: str,
    incomes: dict[str, Decimal],
    termination: TerminationReason | None,
    actor: str,
    actor_role: str,
    now: dt.datetime,
    review_months: dict[ReviewClass, int] | None,
    gradual_exit_months: int,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
) -> Household:
    """Record a periodic check; the next one is due one interval later.

    ADJUST sets the members' incomes found; CONTINUE and ADJUST recompute the
    benefit at today's standard; above the line, the household enters its gradual
    exit instead. PROPOSE_TERMINATION
    records the township's proposal for the county to decide.
    """
    if outcome is ReviewOutcome.ADJUST and not incomes:
        raise InvalidInput("incomes: ADJUST needs the incomes found", field="incomes")
    if outcome is not ReviewOutcome.ADJUST and incomes:
        raise InvalidInput("incomes: only ADJUST changes incomes", field="incomes")
    if (outcome is ReviewOutcome.PROPOSE_TERMINATION) != (termination is not None):
        raise InvalidInput(
            "terminationReason: given with PROPOSE_TERMINATION, and only then",
            field="terminationReason",
        )
    above_line = False

    async def checked(session: AsyncSession, household: Household, today: dt.date) -> None:
        nonlocal above_line
        members = await active_members(session, archive_no)
        if outcome is ReviewOutcome.ADJUST:
            by_id = {m.id: m for m in members}
            unknown = sorted(set(incomes) - set(by_id))
            if unknown:
                raise InvalidInput(
                    "incomes.memberId: not a current member of this household",
                    field="incomes.memberId",
                )
            for member_id, income in incomes.items():
                by_id[member_id].monthly_income = income
        if outcome is not ReviewOutcome.PROPOSE_TERMINATION:
            # every check measures the household against the standard in force today
            above_line = not await _recompute(
                session, household, members, actor=actor, today=today, multiple=marginal_multiple
            )
        if termination is not None:
            household.termination_proposal = termination.value
        schedule_review(household, members, today=today, review_months=review_months)

    details: dict[str, Any] = {"outcome": outcome.value}
    if incomes:
        details["members"] = sorted(incomes)  # who changed; amounts stay in the member rows
    if termination is not None:
        details["reasons"] = [termination.value]
    household = await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.COMPLETE_REVIEW,
        reason=findings,
        details=details,
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=checked,
    )
    if above_line:
        if household.status != HouseholdStatus.ACTIVE.value:
            raise Conflict(
                "status: income above the line while SUSPENDED; propose termination instead",
                field="status",
            )
        await enter_gradual_exit(
            session,
            archive_no=archive_no,
            scope=scope,
            actor=actor,
            actor_role=actor_role,
            # a microsecond after the check that found it: the history lists steps by time
            now=now + dt.timedelta(microseconds=1),
            months=gradual_exit_months,
            why="periodic check: per-capita income above the local standard",
            marginal_multiple=marginal_multiple,
        )
    return household


async def _recompute(
    session: AsyncSession,
    household: Household,
    members: Sequence[Member],
    *,
    actor: str,
    today: dt.date,
    multiple: Decimal,
) -> bool:
    """The benefit for the members' incomes at the standard of the next month, paid
    from then (下月起: the month of the check is paid as it was); False when above
    the line (the amount is then left as it is, for the gradual exit to keep)."""
    on = next_month_start(today)
    standard = await standards_in_force(
        session, county_code=household.village_code[:6], area=Area(household.area), on=on
    )
    if standard is None:
        raise Conflict("standard: no local standard in force for this county and track")
    amount = benefit_for(household, members, standard.monthly_amount, multiple)
    if amount is None:
        return False
    if amount != household.monthly_benefit:
        household.monthly_benefit = amount
        await grant_from(
            session,
            household,
            figures_of(household, members),
            on=on,
            reason="periodic check",
            actor=actor,
        )
        household.review_flag = None
    return True


async def end_gradual_exits(
    session: AsyncSession,
    *,
    scope: str,
    region: str | None,
    actor: str,
    actor_role: str,
    now: dt.datetime,
    limit: int,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
) -> list[str]:
    """Terminate every household whose gradual exit has ended, in scope, with the
    reason income above the line."""
    today = now.astimezone(CST).date()
    stmt = select(Household.archive_no).where(
        in_scope(scope),
        Household.status == HouseholdStatus.GRADUAL_EXIT.value,
        Household.gradual_exit_until <= today,
    )
    if region:
        stmt = stmt.where(code_prefix(Household.village_code, region))
    due = (await session.scalars(stmt.order_by(Household.archive_no).limit(limit))).all()
    for archive_no in due:
        await terminate(
            session,
            archive_no=archive_no,
            scope=scope,
            reason=TerminationReason.INCOME_ABOVE_LINE,
            text="渐退期满，终止保障 (gradual exit ended)",
            actor=actor,
            actor_role=actor_role,
            now=now,
            marginal_multiple=marginal_multiple,
        )
    return list(due)
