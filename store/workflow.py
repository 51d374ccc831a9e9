"""Moving an archive along the review chain, with every step recorded.

The household row carries a version column: two reviewers deciding the same
household at once both read the same version, and the second UPDATE finds it
gone, so exactly one decision is taken and the other is a CONFLICT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from domain.assets import AssetLimits, check_assets
from domain.benefit import (
    MARGINAL_MULTIPLE,
    MARGINAL_STATUSES,
    Earner,
    granted_benefit,
    is_marginal,
    next_month_start,
)
from domain.categories import age_on
from domain.enums import CLAIMING_STATUSES, Area, HouseholdStatus, ObjectionStatus
from domain.errors import Conflict, NotFound
from domain.verification import VERIFIABLE_STATUSES
from domain.workflow import (
    ARCHIVE_AFTER_DAYS,
    RULES,
    MemberSituation,
    ReviewClass,
    Situation,
    Step,
    next_review,
    next_status,
    notice_end,
    review_class,
)
from store.benefits import Figures, grant_from
from store.households import code_prefix, get_household, in_scope, standards_in_force
from store.models import (
    Asset,
    Household,
    IdClaim,
    Member,
    Objection,
    Review,
    SpotCheckCase,
    new_id,
)
from store.verification import withdraw_pending

CST = dt.timezone(dt.timedelta(hours=8))
# a step into one of these ends the case's hold on its members' ID numbers
RELEASING = frozenset(HouseholdStatus) - CLAIMING_STATUSES


async def household_in_scope(session: AsyncSession, *, scope: str, archive_no: str) -> Household:
    household = await get_household(session, scope=scope, archive_no=archive_no)
    if household is None:
        raise NotFound("archiveNo: no such household in your region", field="archiveNo")
    return household


async def active_members(session: AsyncSession, archive_no: str) -> Sequence[Member]:
    rows = await session.scalars(
        select(Member)
        .where(Member.archive_no == archive_no, Member.active)
        .order_by(Member.position)
    )
    return rows.all()


def member_situations(members: Sequence[Member], today: dt.date) -> list[MemberSituation]:
    """What the review classification reads of each member (domain.workflow.review_class)."""
    return [
        MemberSituation(
            age=age_on(m.birth_date, today),
            disabled=m.disability_grade is not None and m.disability_grade <= 2,
            seriously_ill=m.serious_illness,
            student=m.student,
            has_income=m.monthly_income > Decimal(0),
        )
        for m in members
    ]


def schedule_review(
    household: Household,
    members: Sequence[Member],
    *,
    today: dt.date,
    review_months: dict[ReviewClass, int] | None,
) -> None:
    """Classify the household again and set its next periodic check from `today`."""
    klass = review_class(member_situations(members, today))
    household.review_class = klass.value
    household.next_review_on = next_review(today, klass, review_months)
    household.review_flag = None


async def _grant_benefit(
    session: AsyncSession,
    household: Household,
    *,
    actor: str,
    today: dt.date,
    reason: str,
    review_months: dict[ReviewClass, int] | None,
    marginal_multiple: Decimal,
) -> None:
    members = await active_members(session, household.archive_no)
    standard = await standards_in_force(
        session, county_code=household.village_code[:6], area=Area(household.area), on=today
    )
    if standard is None:
        raise Conflict("standard: no local standard in force for this county and track")
    amount = granted_benefit(
        standard.monthly_amount,
        earners(members, single_person_cover=household.single_person_cover),
        marginal_multiple=marginal_multiple,
    )
    if amount is None:
        if household.single_person_cover:
            raise Conflict(
                "status: single-person cover (单人保) needs per-capita income under the edge "
                "line and a covered member below the standard; not eligible"
            )
        raise Conflict("status: per-capita income is not below the local standard; not eligible")
    # decided on today's standard, paid from the month after the decision (下月起), on
    # the figures of the household or of its covered members (单人保)
    paid = await grant_from(
        session,
        household,
        figures_of(household, members),
        on=next_month_start(today),
        reason=reason,
        actor=actor,
    )
    household.monthly_benefit = amount if paid is None else paid
    schedule_review(household, members, today=today, review_months=review_months)


def figures_of(household: Household, members: Sequence[Member]) -> Figures:
    """What the household's benefit is computed on, as a benefit entry keeps it: every
    current member's income, and the covered members' under single-person cover."""
    found = earners(members, single_person_cover=household.single_person_cover)
    return Figures.of([e.income for e in found], [e.income for e in found if e.covered])


def earners(members: Sequence[Member], *, single_person_cover: bool) -> list[Earner]:
    """The current members as the benefit counts them (domain.benefit.granted_benefit)."""
    return [Earner(m.monthly_income, single_person_cover and m.covered) for m in members]


def benefit_for(
    household: Household, members: Sequence[Member], standard: Decimal, multiple: Decimal
) -> Decimal | None:
    """The household's benefit at `standard` by the one rule (domain.benefit), or None
    when it is not eligible: whole households, or their covered members (单人保)."""
    return granted_benefit(
        standard,
        earners(members, single_person_cover=household.single_person_cover),
        marginal_multiple=multiple,
    )


async def check_asset_limits(
    session: AsyncSession, household: Household, limits: AssetLimits
) -> None:
    """The declared assets against the county's limits (domain.assets), before a review
    or a decision moves the case on."""
    rows = await session.execute(
        select(Asset.kind, Asset.value).where(Asset.archive_no == household.archive_no)
    )
    check_assets(
        [(kind, value) for kind, value in rows.all()],
        limits.for_county(household.village_code[:6]),
    )


async def mark_marginal(
    session: AsyncSession,
    household: Household,
    status: HouseholdStatus,
    *,
    today: dt.date,
    multiple: Decimal,
) -> None:
    """Set the edge-family flag (低保边缘家庭) for the status the household moves to."""
    if status not in MARGINAL_STATUSES:
        household.marginal = False
        return
    members = await active_members(session, household.archive_no)
    standard = await standards_in_force(
        session, county_code=household.village_code[:6], area=Area(household.area), on=today
    )
    household.marginal = (
        standard is not None
        and bool(members)
        and is_marginal(
            status, standard.monthly_amount, [m.monthly_income for m in members], multiple
        )
    )


async def remark_marginal(
    session: AsyncSession, *, county_code: str, area: Area, today: dt.date, multiple: Decimal
) -> int:
    """Decide the edge-family flag again for every refused or leaving household of a
    county track, at the standard in force today: a new standard moves the edge line.
    Returns how many flags changed. Two statements, whatever the number of households."""
    standard = await standards_in_force(session, county_code=county_code, area=area, on=today)
    households = (
        await session.scalars(
            select(Household).where(
                code_prefix(Household.village_code, county_code),
                Household.area == area.value,
                Household.status.in_([s.value for s in MARGINAL_STATUSES]),
            )
        )
    ).all()
    if not households:
        return 0
    incomes: dict[str, list[Decimal]] = {h.archive_no: [] for h in households}
    rows = await session.execute(
        select(Member.archive_no, Member.monthly_income).where(
            Member.archive_no.in_(list(incomes)), Member.active
        )
    )
    for archive_no, income in rows.all():
        incomes[archive_no].append(income)
    changed = 0
    for household in households:
        found = incomes[household.archive_no]
        flag = (
            standard is not None
            and bool(found)
            and is_marginal(
                HouseholdStatus(household.status), standard.monthly_amount, found, multiple
            )
        )
        if flag != household.marginal:
            household.marginal = flag
            changed += 1
    return changed


async def _not_the_importer(session: AsyncSession, household: Household, actor: str) -> None:
    """A household imported through the API waits SUSPENDED for a second person: the
    importer never resumes (and so starts paying) what it imported itself."""
    last = await session.scalar(
        select(Review)
        .where(Review.archive_no == household.archive_no)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(1)
    )
    if last is not None and last.step == Step.IMPORTED.value and last.actor == actor:
        raise Conflict(
            "status: you imported this household; another county reviewer confirms it (四眼原则)",
            field="status",
        )


async def _approval_situation(session: AsyncSession, household: Household) -> dict[str, Any]:
    """What approval checks besides the notice: separation and open objections."""
    reviewers = await session.scalars(
        select(Review.actor).where(
            Review.archive_no == household.archive_no, Review.step == Step.TOWNSHIP_REVIEW.value
        )
    )
    open_objections = await session.scalar(
        select(func.count()).where(
            Objection.archive_no == household.archive_no,
            Objection.status == ObjectionStatus.OPEN.value,
        )
    )
    relatives = await session.scalar(
        select(func.count()).where(
            Member.archive_no == household.archive_no, Member.active, Member.staff_relative
        )
    )
    drawn = await session.scalar(
        select(SpotCheckCase.archive_no)
        .where(SpotCheckCase.archive_no == household.archive_no)
        .limit(1)
    )
    return {
        "township_reviewers": frozenset(reviewers.all()),
        "open_objections": int(open_objections or 0),
        "county_visit_needed": bool(relatives),
        "county_visited": household.county_visit_on is not None,
        "spot_checked": drawn is not None,
    }


# a step's own changes to the household, made once the state machine allows the step
Effect = Callable[[AsyncSession, Household, dt.date], Awaitable[None]]


async def apply_step(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    step: Step,
    reason: str | None,
    details: dict[str, Any] | None,
    actor: str,
    actor_role: str,
    now: dt.datetime,
    archive_after_days: int = ARCHIVE_AFTER_DAYS,
    review_months: dict[ReviewClass, int] | None = None,
    effect: Effect | None = None,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
    asset_limits: AssetLimits | None = None,
) -> Household:
    household = await household_in_scope(session, scope=scope, archive_no=archive_no)
    today = now.astimezone(CST).date()
    current = HouseholdStatus(household.status)
    extra = await _approval_situation(session, household) if step is Step.APPROVE else {}
    if step is Step.RESUME:
        await _not_the_importer(session, household, actor)
    target = next_status(
        current,
        step,
        reason=reason,
        situation=Situation(
            today=today,
            notice_ends_on=household.notice_ends_on,
            status_since=household.status_changed_at.astimezone(CST).date(),
            archive_after_days=archive_after_days,
            actor=actor,
            **extra,
        ),
    )
    if step is Step.APPROVE:
        # at the decision only: a refusal on assets is the county's (57号), and a case
        # may go to notice with assets the county then weighs (the seed's refusals too)
        await check_asset_limits(session, household, asset_limits or AssetLimits())
    if step is Step.PUBLISH_NOTICE:
        household.notice_ends_on = notice_end(today)
    elif step is Step.APPROVE:
        await _grant_benefit(
            session,
            household,
            actor=actor,
            today=today,
            reason="approved",
            review_months=review_months,
            marginal_multiple=marginal_multiple,
        )
        household.decided_on = today
    if target in RELEASING:
        # the people of a closed case may be claimed elsewhere again
        await session.execute(delete(IdClaim).where(IdClaim.archive_no == archive_no))
    if current in VERIFIABLE_STATUSES and target not in VERIFIABLE_STATUSES:
        # a refused, withdrawn or ended case is asked about no more: its pending
        # requests stop showing the members' ID numbers to departments, and take no answer
        await withdraw_pending(session, archive_no=archive_no)
    if effect is not None:
        await effect(session, household, today)
    if target is not current:
        await mark_marginal(session, household, target, today=today, multiple=marginal_multiple)
        household.status = target.value
        household.status_changed_at = now
    household.updated_at = now
    session.add(
        Review(
            archive_no=archive_no,
            step=step.value,
            from_status=current.value,
            to_status=target.value,
            actor=actor,
            actor_role=actor_role,
            reason=reason.strip() if reason else None,
            details=details,
            created_at=now,
        )
    )
    await flush_or_conflict(session)
    return household


async def flush_or_conflict(session: AsyncSession) -> None:
    """Write pending changes; a household changed by someone else meanwhile is a CONFLICT."""
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(
            "status: someone else changed this household just now; reload it and try again",
            field="status",
        ) from None


async def record_objection(
    session: AsyncSession, *, archive_no: str, scope: str, text: str, actor: str, now: dt.datetime
) -> Objection:
    household = await household_in_scope(session, scope=scope, archive_no=archive_no)
    if household.status != HouseholdStatus.NOTICE.value:
        raise Conflict(
            f"status: the household is {household.status}; objections are recorded during NOTICE",
            field="status",
        )
    objection = Objection(
        archive_no=archive_no, text=text.strip(), recorded_by=actor, created_at=now
    )
    session.add(objection)
    # a new version of the household: an approval racing this objection (which it
    # would not have counted as open) finds its version gone and is a CONFLICT
    household.updated_at = now
    await flush_or_conflict(session)
    return objection


def due_for_review(*, scope: str, region: str | None, before: dt.date) -> Select[Household]:
    """Active households whose re-review falls on or before `before`, in scope."""
    stmt = select(Household).where(
        in_scope(scope),
        Household.status == HouseholdStatus.ACTIVE.value,
        Household.next_review_on <= before,
    )
    if region:
        stmt = stmt.where(code_prefix(Household.village_code, region))
    return stmt


async def archive_due(
    session: AsyncSession,
    *,
    scope: str,
    region: str | None,
    actor: str,
    actor_role: str,
    now: dt.datetime,
    archive_after_days: int,
    limit: int,
) -> list[str]:
    """Archive every terminated or rejected household past the period, in scope.

    Three statements whatever the number: find them, move them (guarded by their
    status, so a concurrent change wins), record one review step each.
    """
    cutoff = now - dt.timedelta(days=archive_after_days)
    sources = sorted(s.value for s in RULES[Step.ARCHIVE].sources)
    stmt = select(Household.archive_no, Household.status).where(
        in_scope(scope),
        Household.status.in_(sources),
        Household.status_changed_at <= cutoff,
    )
    if region:
        stmt = stmt.where(code_prefix(Household.village_code, region))
    rows = await session.execute(stmt.order_by(Household.archive_no).limit(limit))
    due = {row.archive_no: row.status for row in rows.all()}
    if not due:
        return []
    target = HouseholdStatus.ARCHIVED.value
    moved = await session.execute(
        update(Household)
        .where(
            Household.archive_no.in_(list(due)),
            Household.status.in_(sources),
            Household.status_changed_at <= cutoff,
        )
        .values(
            status=target,
            status_changed_at=now,
            updated_at=now,
            marginal=False,  # archived: no longer followed as an edge family
            version=Household.version + 1,
        )
        .returning(Household.archive_no)
    )
    archived = sorted(moved.scalars().all())
    if archived:
        await session.execute(
            insert(Review),
            [
                {
                    "id": new_id(),
                    "archive_no": archive_no,
                    "step": Step.ARCHIVE.value,
                    "from_status": due[archive_no],
                    "to_status": target,
                    "actor": actor,
                    "actor_role": actor_role,
                    "reason": "archived after the retention period of the case file",
                    "created_at": now,
                }
                for archive_no in archived
            ],
        )
    return archived


def flag_for_review(household: Household, *, on: dt.date, reason: str) -> None:
    """Due for re-review from `on` (never later than it was already due), and why."""
    household.review_flag = f"{reason} ({on.isoformat()})"
    if household.next_review_on is None or household.next_review_on > on:
        household.next_review_on = on
