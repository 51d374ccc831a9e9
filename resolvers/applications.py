"""Mutation: a caseworker submits an application (household and members) in one step."""

from __future__ import annotations

from dataclasses import field
from decimal import Decimal

from domain.application import ApplicationDraft, AssetDraft, MemberDraft, validate_application
from domain.enums import AssetKind, DisabilityKind, Relation
from resolvers.context import Info
from store import models
from store.applications import submit_application as store_submit


class MemberInput:
    """A member of the applying household.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    name: str
    id_number: str
    relation: Relation
    monthly_income: Decimal
    phone: str | None = None
    disability_grade: int | None = None
    disability_kind: DisabilityKind | None = None
    serious_illness: bool = False
    student: bool = False
    staff_relative: bool = False  # a close relative of social assistance staff (近亲属备案)
    covered: bool = False  # named for single-person cover (单人保)


class AssetInput:
    """An asset the household declares (savings, a vehicle, property).

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    kind: AssetKind
    value: Decimal
    description: str | None = None


class ApplicationInput:
    """A new application (申请): the household and all its members.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    village_code: str
    members: list[MemberInput]
    address: str | None = None
    bank_account: str | None = None
    bank_name: str | None = None
    assets: list[AssetInput] = field(default_factory=list)


def member_draft(m: MemberInput) -> MemberDraft:
    return MemberDraft(
        name=m.name,
        id_number=m.id_number,
        relation=m.relation,
        monthly_income=m.monthly_income,
        phone=m.phone,
        disability_grade=m.disability_grade,
        disability_kind=m.disability_kind,
        serious_illness=m.serious_illness,
        student=m.student,
        staff_relative=m.staff_relative,
        covered=m.covered,
    )


async def submit_application(info: Info, input: ApplicationInput) -> models.Household:
    ctx = info.context
    valid = validate_application(
        ApplicationDraft(
            village_code=input.village_code,
            address=input.address,
            bank_account=input.bank_account,
            bank_name=input.bank_name,
            members=[member_draft(m) for m in input.members],
            assets=[
                AssetDraft(kind=a.kind, value=a.value, description=a.description)
                for a in input.assets
            ],
        ),
        today=ctx.today,
    )
    async with ctx.writing() as session:
        row = await store_submit(
            session,
            ctx.cipher,
            application=valid,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            actor_role=ctx.principal.role,
            now=ctx.now,
            # who claimed whom, by blind index, charged before the check (Context)
            before_claim_check=ctx.check_claims,
            today=ctx.today,
            marginal_multiple=ctx.settings.marginal_multiple,
        )
    ctx.touched.add(row.archive_no)
    return row
