"""The steps of the review chain that carry more than a status: refusal with coded
reasons, correction (补正), withdrawal, decided objections, the county's own visit,
termination proposed and decided (re-checks and gradual exits: store/rechecks.py).

Each goes through `apply_step` (store/workflow.py): the same region-scoped load,
the same state machine, one review row per step, the version check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.benefit import MARGINAL_MULTIPLE
from domain.calendar import WorkingCalendar, beijing_day
from domain.deadlines import CaseDays, already_extended, case_deadline, latest_decision
from domain.enums import ObjectionStatus, RejectionReason, TerminationReason
from domain.errors import Conflict, NotFound
from domain.verification import Department, DiscrepancyKind, VerificationStatus
from domain.workflow import Step
from store.crypto import Cipher
from store.models import (
    Asset,
    Household,
    Member,
    Objection,
    Review,
    VerificationRequest,
    VerificationSubject,
)
from store.verification import open_findings, request_in_scope
from store.workflow import apply_step, household_in_scope


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
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
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
        marginal_multiple=marginal_multiple,
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
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
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
        marginal_multiple=marginal_multiple,
    )


async def _history(session: AsyncSession, archive_no: str) -> list[tuple[Step, dt.date]]:
    """The household's steps in order, on Beijing dates (domain/deadlines.py reads them)."""
    rows = await session.execute(
        select(Review.step, Review.created_at)
        .where(Review.archive_no == archive_no)
        .order_by(Review.created_at, Review.id)
    )
    return [(Step(step), beijing_day(at)) for step, at in rows.all()]


async def extend_deadline(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    reason: str,
    calendar: WorkingCalendar,
    days: CaseDays,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    """30 working days become 45, once per acceptance, before the 30 have run out."""

    async def extended(_: AsyncSession, household: Household, today: dt.date) -> None:
        steps = await _history(session, household.archive_no)
        if already_extended(steps):
            raise Conflict("deadline: already extended once for this case", field="deadline")
        deadline = case_deadline(steps, today, calendar, days)
        if deadline is None:  # pragma: no cover - PENDING cases have been accepted
            raise Conflict("deadline: the case has not been accepted", field="deadline")
        if deadline.overdue:
            raise Conflict(
                f"deadline: the case was due on {deadline.due_on.isoformat()}; "
                "an extension is decided before the deadline",
                field="deadline",
            )

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.EXTEND_DEADLINE,
        reason=reason,
        details={"workingDays": days.extended},
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=extended,
    )


async def record_written_decision(
    session: AsyncSession,
    *,
    archive_no: str,
    scope: str,
    reference: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    """The written notice of a refusal or a termination (书面通知) was sent: once."""

    async def written(_: AsyncSession, household: Household, today: dt.date) -> None:
        latest = latest_decision(await _history(session, household.archive_no))
        if latest is None:  # imported closed cases carry no decision step of this service
            raise Conflict(
                "writtenDecision: no refusal or termination of this service to notify",
                field="writtenDecision",
            )
        if latest[1] is not None:
            raise Conflict(
                "writtenDecision: the written notice of this decision is already recorded",
                field="writtenDecision",
            )

    return await apply_step(
        session,
        archive_no=archive_no,
        scope=scope,
        step=Step.WRITTEN_DECISION,
        reason=reference,
        details=None,
        actor=actor,
        actor_role=actor_role,
        now=now,
        effect=written,
    )


# ----------------------------------------------------------------- adopting an answer


async def adopt(
    session: AsyncSession,
    cipher: Cipher,
    *,
    request_id: str,
    scope: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
) -> Household:
    """Take a department's answer into the archive of a case not yet decided: a
    member's income found higher (wage and pension) becomes the member's income, and
    deposits or vehicles found beyond what was declared become declared assets. The
    application's eligibility and asset checks then weigh what the department found,
    and the answer no longer contradicts the archive. Property, businesses and a
    registration mismatch have no figure to take over: they stay for the county to
    decide (`overrideVerification`). One ADOPT_FINDINGS step records it, naming the
    request and the kinds taken over, never a figure."""
    request = await session.scalar(
        select(VerificationRequest).where(
            VerificationRequest.id == request_id, request_in_scope(scope)
        )
    )
    if request is None:
        raise NotFound("requestId: no such request in your region", field="requestId")
    if request.status != VerificationStatus.ANSWERED.value:
        raise Conflict(
            f"requestId: the request is {request.status}; only an answer can be adopted",
            field="requestId",
        )
    rows = (
        await session.execute(
            select(VerificationSubject, Member)
            .join(Member, Member.id == VerificationSubject.member_id)
            .where(VerificationSubject.request_id == request.id, Member.active)
        )
    ).all()
    adopted: set[str] = set()
    deposits, vehicles = Decimal(0), Decimal(0)
    for subject, member in rows:
        found = open_findings(cipher, subject)
        if found is None:
            continue
        if found.monthly_wage is not None or found.monthly_pension is not None:
            income = (found.monthly_wage or Decimal(0)) + (found.monthly_pension or Decimal(0))
            if income > member.monthly_income:
                member.monthly_income = income
                adopted.add(DiscrepancyKind.INCOME.value)
        deposits += found.deposits or Decimal(0)
        vehicles += found.vehicle_value or Decimal(0)
    held = (
        await session.execute(
            select(Asset.kind, func.sum(Asset.value))
            .where(Asset.archive_no == request.archive_no)
            .group_by(Asset.kind)
        )
    ).all()
    declared = {kind: Decimal(total or 0) for kind, total in held}
    source = f"核对: {Department(request.department).value}"
    for kind, found_total, discrepancy in (
        ("DEPOSIT", deposits, DiscrepancyKind.DEPOSITS),
        ("VEHICLE", vehicles, DiscrepancyKind.VEHICLES),
    ):
        missing = found_total - declared.get(kind, Decimal(0))
        if missing > 0:
            session.add(
                Asset(archive_no=request.archive_no, kind=kind, description=source, value=missing)
            )
            adopted.add(discrepancy.value)
    if not adopted:
        raise Conflict(
            "requestId: the answer holds no income or asset beyond the archive's to adopt",
            field="requestId",
        )
    return await apply_step(
        session,
        archive_no=request.archive_no,
        scope=scope,
        step=Step.ADOPT_FINDINGS,
        reason=f"{request.department} {request.id}",
        details={"requestId": request.id, "kinds": sorted(adopted)},
        actor=actor,
        actor_role=actor_role,
        now=now,
    )
