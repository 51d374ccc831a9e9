"""`reportChange`: dynamic management by caseworkers (income, members, address, death)."""

from __future__ import annotations

from decimal import Decimal

from domain.application import refuse_controls, validate_member, validate_money, validate_text
from domain.archive import parse_archive_no
from domain.enums import ChangeKind
from domain.errors import InvalidInput
from resolvers.applications import MemberInput, member_draft
from resolvers.chain import row_id
from resolvers.context import Info
from store import models
from store.changes import report_change as store_report


class ChangeInput:
    """A change report; give the fields its kind needs.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    kind: ChangeKind
    reason: str
    member_id: str | None = None  # served as an ID (schema/input_types.py)
    monthly_income: Decimal | None = None
    new_member: MemberInput | None = None
    address: str | None = None


async def report_change(info: Info, archive_no: str, change: ChangeInput) -> models.Household:
    parse_archive_no(archive_no)
    if not change.reason.strip() or len(change.reason) > 2000:
        raise InvalidInput("reason: 1 to 2000 characters", field="reason")
    refuse_controls(change.reason.replace("\n", " "), "reason")  # line breaks are fine here
    address = validate_text(change.address, "address", max_length=200)
    ctx = info.context
    income = (
        validate_money(change.monthly_income, "monthlyIncome")
        if change.monthly_income is not None
        else None
    )
    if change.new_member is not None and change.new_member.covered:
        raise InvalidInput(
            "newMember.covered: single-person cover (单人保) is named on the application",
            field="newMember.covered",
        )
    joining = (
        validate_member(0, member_draft(change.new_member), ctx.today)
        if change.new_member is not None
        else None
    )
    async with ctx.writing() as session:
        row = await store_report(
            session,
            ctx.cipher,
            archive_no=archive_no,
            scope=ctx.principal.scope,
            kind=change.kind,
            reason=change.reason,
            actor=ctx.principal.name,
            now=ctx.now,
            before_claim_check=ctx.check_claims,
            member_id=row_id(change.member_id, "memberId") if change.member_id else None,
            income=income,
            new_member=joining,
            address=address,
            actor_role=ctx.principal.role,
            gradual_exit_months=ctx.settings.gradual_exit_months,
            marginal_multiple=ctx.settings.marginal_multiple,
        )
    ctx.touched.add(row.archive_no)
    return row
