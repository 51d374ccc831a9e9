"""The steps of the review chain that carry more than a status: refusal with coded
reasons, correction (补正), withdrawal, decided objections, the county's own visit,
termination proposed and decided, the periodic re-check and the gradual exit (渐退期).

Each goes through `apply_step` (store/workflow.py): the same region-scoped load,
the same state machine, one review row per step, the version check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.benefit import is_eligible, monthly_benefit
from domain.enums import (
    Area,
    HouseholdStatus,
    ObjectionStatus,
    RejectionReason,
    ReviewOutcome,
    TerminationReason,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.workflow import ReviewClass, Step, gradual_exit_end
from store.households import code_prefix, in_scope, standards_in_force
from store.models import Household, Member, Objection
from store.workflow import (
    CST,
    Effect,
    active_members,
    apply_step,
    household_in_scope,
    regrant,
    schedule_review,
)


async def reject(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    reasons: Sequence[RejectionReason],
    text: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    codes = sorted({r.value for r in reasons})

    async def decided(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.decided_on = today
        household.closing_reasons = {"step": Step.REJECT.value, "reasons": codes}

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.REJECT,
        reason=text,
        details={"reasons": codes},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=decided,
    )


async def return_for_correction(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    missing: Sequence[str],
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    listed = list(missing)

    async def waiting(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.missing_materials = listed

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.RETURN_FOR_CORRECTION,
        reason=None,
        details={"missing": listed},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=waiting,
    )


async def resubmit(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    async def complete(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.missing_materials = None

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.RESUBMIT,
        reason=None,
        details=None,
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=complete,
    )


async def withdraw(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    reason: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    """The applicant withdraws before a decision: the ID numbers are free again."""
    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.WITHDRAW,
        reason=reason,
        details=None,
        actor=actor,
        actor_role=actor_role,
        now=now,
    )


async def _open_objection(
    session: AsyncSession, *, archive_no: str, objection_id: str
) -> Objection:
    objection = await session.scalar(
        select(Objection).where(Objection.id == objection_id, Objection.archive_no == archive_no)
    )
    if objection is None:
        raise NotFound("objectionId: no such objection on this household", field="objectionId")
    if objection.status != ObjectionStatus.OPEN.value:
        raise Conflict(
            f"objection: it is {objection.status}; only an OPEN objection is decided",
            field="objectionId",
        )
    return objection


async def decide_objection(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    objection_id: str,
    uphold: bool,
    reasons: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    """Dismiss one open objection (the notice goes on), or uphold it: every open
    objection of the case is then upheld and the case goes back to INVESTIGATED,
    to be investigated, reviewed by the township and posted again."""
    await household_in_scope(session, scope=scope, archive_no=archive_no)
    objection = await _open_objection(session, archive_no=archive_no, objection_id=objection_id)
    closing = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED

    async def close(session: AsyncSession, household: Household, today: dt.date) -> None:
        stmt = update(Objection).where(Objection.archive_no == archive_no)
        if uphold:
            stmt = stmt.where(Objection.status == ObjectionStatus.OPEN.value)
            household.notice_ends_on = None  # a new notice follows the new review
        else:
            stmt = stmt.where(Objection.id == objection.id)
        await session.execute(
            stmt.values(
                status=closing.value, resolution=reasons.strip(), resolved_by=actor, resolved_at=now
            ).execution_options(synchronize_session="fetch")
        )

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.UPHOLD_OBJECTION if uphold else Step.DISMISS_OBJECTION,
        reason=reasons,
        details={"objection": objection.id},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=close,
    )


async def county_visit(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    findings: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    async def visited(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.county_visit_on = today

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.COUNTY_VISIT,
        reason=findings,
        details=None,
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=visited,
    )


async def propose_termination(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    reason: TerminationReason,
    text: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    async def proposed(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.termination_proposal = reason.value

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.PROPOSE_TERMINATION,
        reason=text,
        details={"reasons": [reason.value]},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=proposed,
    )


async def terminate(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    reason: TerminationReason,
    text: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    async def ended(_: AsyncSession, household: Household, today: dt.date) -> None:
        household.decided_on = today
        household.closing_reasons = {"step": Step.TERMINATE.value, "reasons": [reason.value]}
        household.termination_proposal = None
        household.gradual_exit_until = None

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.TERMINATE,
        reason=text,
        details={"reasons": [reason.value]},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=ended,
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
            above_line = not await _recompute(session, household, members, actor=actor, today=today)
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
        )
    return household


async def _recompute(
    session: AsyncSession,
    household: Household,
    members: Sequence[Member],
    *,
    actor: str,
    today: dt.date,
) -> bool:
    """The benefit at today's standard for the members' incomes; False when above the
    line (the amount is then left as it is, for the gradual exit to keep)."""
    standard = await standards_in_force(
        session, county_code=household.village_code[:6], area=Area(household.area), on=today
    )
    if standard is None:
        raise Conflict("standard: no local standard in force for this county and track")
    incomes = [m.monthly_income for m in members]
    if not is_eligible(standard.monthly_amount, incomes):
        return False
    amount = monthly_benefit(standard.monthly_amount, incomes)
    if amount != household.monthly_benefit:
        regrant(session, household, amount, on=today, reason="periodic check", actor=actor)
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
        )
    return list(due)
