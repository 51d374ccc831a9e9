"""Dynamic management (动态管理): change reports that update the archive with full history.

Each report records what was and what is (members are named by their stable id),
who reported it and when. A change to an ACTIVE household recomputes its benefit
at the standard in force from the first day of the next month and, when the
amount moves, records it from that day (the month of the report is paid as it
was, 下月起) and flags the household for re-review; when per-capita income is no
longer below the line, the household enters its gradual exit (渐退期) with the
benefit it had, never an ACTIVE household with a zero benefit that the payment
batch would skip.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import bounds
from domain.application import ValidMember
from domain.benefit import MARGINAL_MULTIPLE, MARGINAL_STATUSES, next_month_start
from domain.enums import CLAIMING_STATUSES, Area, ChangeKind, HouseholdStatus
from domain.errors import Conflict, InvalidInput
from domain.workflow import GRADUAL_EXIT_MONTHS
from store.applications import BeforeClaimCheck, claim_ids, sealed_member
from store.benefits import grant_from
from store.crypto import Cipher
from store.households import standards_in_force
from store.models import ChangeReport, Household, IdClaim, Member
from store.rechecks import enter_gradual_exit
from store.workflow import (
    active_members,
    benefit_for,
    figures_of,
    flag_for_review,
    flush_or_conflict,
    household_in_scope,
    mark_marginal,
)

CST = dt.timezone(dt.timedelta(hours=8))
CHANGEABLE = CLAIMING_STATUSES


async def _member(session: AsyncSession, archive_no: str, member_id: str | None) -> Member:
    if member_id is None:
        raise InvalidInput("memberId: which member (Member.id)", field="memberId")
    member = await session.scalar(
        select(Member).where(Member.archive_no == archive_no, Member.id == member_id, Member.active)
    )
    if member is None:
        raise InvalidInput("memberId: not a current member of this household", field="memberId")
    return member


async def report_change(
    session: AsyncSession,
    cipher: Cipher,
    *,
    archive_no: str,
    scope: str,
    kind: ChangeKind,
    reason: str,
    actor: str,
    now: dt.datetime,
    before_claim_check: BeforeClaimCheck,
    member_id: str | None = None,
    income: Any = None,
    new_member: ValidMember | None = None,
    address: str | None = None,
    actor_role: str = "caseworker",
    gradual_exit_months: int = GRADUAL_EXIT_MONTHS,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
) -> Household:
    household = await household_in_scope(session, scope=scope, archive_no=archive_no)
    if HouseholdStatus(household.status) not in CHANGEABLE:
        raise Conflict(
            f"status: the household is {household.status}; changes are reported for "
            "pending, active or suspended households",
            field="status",
        )
    before: dict[str, Any]
    after: dict[str, Any]
    if kind is ChangeKind.INCOME:
        member = await _member(session, archive_no, member_id)
        if income is None:
            raise InvalidInput("monthlyIncome: the new income", field="monthlyIncome")
        before = {"member": member.id, "monthly_income": str(member.monthly_income)}
        member.monthly_income = income
        after = {"member": member.id, "monthly_income": str(income)}
    elif kind in {ChangeKind.MEMBER_LEFT, ChangeKind.DEATH}:
        member = await _member(session, archive_no, member_id)
        remaining = await session.scalar(
            select(func.count()).where(Member.archive_no == archive_no, Member.active)
        )
        if int(remaining or 0) <= 1:
            raise Conflict(
                "members: the last member cannot leave; terminate instead", field="members"
            )
        member.active = False
        await session.execute(delete(IdClaim).where(IdClaim.member_id == member.id))
        before = {"member": member.id, "active": True}
        after = {"member": member.id, "active": False, "kind": kind.value}
    elif kind is ChangeKind.MEMBER_JOINED:
        if new_member is None:
            raise InvalidInput("newMember: the joining member", field="newMember")
        current = await session.scalar(
            select(func.count()).where(Member.archive_no == archive_no, Member.active)
        )
        if int(current or 0) >= bounds.MEMBERS:  # reads list no more than this
            raise Conflict(
                f"members: a household lists at most {bounds.MEMBERS} current members",
                field="members",
            )
        member = await _add_member(session, cipher, household, new_member)
        if HouseholdStatus(household.status) in CLAIMING_STATUSES:
            await claim_ids(
                session,
                cipher,
                members=[member],
                archive_no=archive_no,
                scope=scope,
                now=now,
                before_check=before_claim_check,
            )
        before = {"members": int(current or 0)}
        after = {"members": int(current or 0) + 1, "joined": member.id}
    else:
        if not address or not address.strip() or len(address) > 200:
            raise InvalidInput("address: 1 to 200 characters", field="address")
        before, after = {"address": household.address}, {"address": address.strip()}
        household.address = address.strip()
    session.add(
        ChangeReport(
            archive_no=archive_no,
            kind=kind.value,
            before=before,
            after=after,
            reason=reason.strip(),
            reported_by=actor,
            created_at=now,
        )
    )
    household.updated_at = now
    await flush_or_conflict(session)
    if household.status == HouseholdStatus.ACTIVE.value:
        eligible = await _recompute(
            session,
            household,
            actor=actor,
            today=now.astimezone(CST).date(),
            multiple=marginal_multiple,
        )
        if not eligible:
            await enter_gradual_exit(
                session,
                archive_no=archive_no,
                scope=scope,
                actor=actor,
                actor_role=actor_role,
                now=now,
                months=gradual_exit_months,
                why=f"change reported ({kind.value}): per-capita income above the local standard",
                marginal_multiple=marginal_multiple,
            )
    elif HouseholdStatus(household.status) in MARGINAL_STATUSES:
        # a household in its gradual exit stays an edge family only while under the line
        await mark_marginal(
            session,
            household,
            HouseholdStatus(household.status),
            today=now.astimezone(CST).date(),
            multiple=marginal_multiple,
        )
    await flush_or_conflict(session)
    return household


async def _add_member(
    session: AsyncSession, cipher: Cipher, household: Household, valid: ValidMember
) -> Member:
    last = await session.scalar(
        select(func.max(Member.position)).where(Member.archive_no == household.archive_no)
    )
    member = sealed_member(
        cipher,
        valid,
        archive_no=household.archive_no,
        position=int(last if last is not None else -1) + 1,
    )
    session.add(member)
    await session.flush()
    return member


async def _recompute(
    session: AsyncSession, household: Household, *, actor: str, today: dt.date, multiple: Decimal
) -> bool:
    """The benefit for the household as it now is, from the month after the report
    (下月起: this month is paid as it was); False when no longer eligible."""
    on = next_month_start(today)
    standard = await standards_in_force(
        session, county_code=household.village_code[:6], area=Area(household.area), on=on
    )
    if standard is None:
        return True
    members = await active_members(session, household.archive_no)
    amount = benefit_for(household, members, standard.monthly_amount, multiple)
    if amount is None:
        return False
    if amount != household.monthly_benefit:
        household.monthly_benefit = amount
        flag_for_review(household, on=today, reason="change reported")
        await grant_from(
            session,
            household,
            figures_of(household, members),
            on=on,
            reason="change reported",
            actor=actor,
        )
    return True
