"""Mutations of the review chain as 57号 writes it, beyond the plain steps.

Refusal with coded reasons, correction (补正) and resubmission, withdrawal,
objections decided, the county's own visit, termination proposed and decided,
the periodic re-check and the end of gradual exits. Each validates its input
here and leaves the rest to the store, through the same region-scoped load and
state machine as every step (store/workflow.py apply_step).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal

from domain import bounds
from domain.application import refuse_controls, validate_money
from domain.archive import parse_archive_no
from domain.enums import RejectionReason, ReviewOutcome, TerminationReason
from domain.errors import InvalidInput
from domain.region import validate_scope
from domain.workflow import ReviewClass
from resolvers.context import Info
from store import chain, models, rechecks

MAX_TEXT = 2000  # reasons, opinions and decisions written by staff
MAX_MISSING = bounds.MISSING_MATERIALS
MAX_MISSING_LENGTH = 200
MAX_INCOMES = bounds.MEMBERS  # one per current member
MAX_SWEEP = 500
MAX_REFERENCE = 100  # a document number (文号), not a text
_ROW_ID = re.compile(r"\A[0-9a-f]{32}\Z")


class MemberIncomeInput:
    """A member's monthly income found by a periodic check.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    member_id: str  # served as an ID (schema/input_types.py)
    monthly_income: Decimal


def text_of(value: str, field: str, *, max_length: int = MAX_TEXT) -> str:
    """Free text written by staff: 1 to max_length characters, line breaks allowed."""
    if not value.strip() or len(value) > max_length:
        raise InvalidInput(f"{field}: 1 to {max_length} characters", field=field)
    refuse_controls(value.replace("\n", " "), field)
    return value.strip()


def row_id(value: str, field: str) -> str:
    """An id this API hands out (32 lower-case hex digits)."""
    if not _ROW_ID.match(value):
        raise InvalidInput(f"{field}: not an id of this API", field=field)
    return value


def _review_months(info: Info) -> dict[ReviewClass, int]:
    return {ReviewClass(k): v for k, v in info.context.settings.review_months.items()}


Write = Callable[..., Awaitable[models.Household]]


async def _write(
    info: Info, archive_no: str, operation: Write, **arguments: object
) -> models.Household:
    parse_archive_no(archive_no)
    ctx = info.context
    async with ctx.writing() as session:
        row = await operation(
            session,
            archive_no=archive_no,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            actor_role=ctx.principal.role,
            now=ctx.now,
            **arguments,
        )
    ctx.touched.add(row.archive_no)
    return row


async def reject_application(
    info: Info, archive_no: str, reasons: list[RejectionReason], text: str
) -> models.Household:
    if not 1 <= len(reasons) <= len(RejectionReason):
        raise InvalidInput("reasons: at least one reason", field="reasons")
    return await _write(
        info,
        archive_no,
        chain.reject,
        reasons=reasons,
        text=text_of(text, "text"),
        marginal_multiple=info.context.settings.marginal_multiple,
    )


async def return_for_correction(
    info: Info, archive_no: str, missing: list[str]
) -> models.Household:
    if not 1 <= len(missing) <= MAX_MISSING:
        raise InvalidInput(f"missing: 1 to {MAX_MISSING} materials", field="missing")
    listed = [
        " ".join(text_of(m, "missing", max_length=MAX_MISSING_LENGTH).split()) for m in missing
    ]
    return await _write(info, archive_no, chain.return_for_correction, missing=listed)


async def resubmit_application(info: Info, archive_no: str) -> models.Household:
    return await _write(info, archive_no, chain.resubmit)


async def withdraw_application(info: Info, archive_no: str, reason: str) -> models.Household:
    return await _write(info, archive_no, chain.withdraw, reason=text_of(reason, "reason"))


async def dismiss_objection(
    info: Info, archive_no: str, objection_id: str, reasons: str
) -> models.Household:
    return await _write(
        info,
        archive_no,
        chain.decide_objection,
        objection_id=row_id(objection_id, "objectionId"),
        uphold=False,
        reasons=text_of(reasons, "reasons"),
    )


async def uphold_objection(
    info: Info, archive_no: str, objection_id: str, reasons: str
) -> models.Household:
    return await _write(
        info,
        archive_no,
        chain.decide_objection,
        objection_id=row_id(objection_id, "objectionId"),
        uphold=True,
        reasons=text_of(reasons, "reasons"),
    )


async def record_county_visit(info: Info, archive_no: str, findings: str) -> models.Household:
    return await _write(
        info,
        archive_no,
        chain.county_visit,
        findings=text_of(findings, "findings", max_length=4000),
    )


async def extend_deadline(info: Info, archive_no: str, reason: str) -> models.Household:
    settings = info.context.settings
    return await _write(
        info,
        archive_no,
        chain.extend_deadline,
        reason=text_of(reason, "reason"),
        calendar=settings.calendar,
        days=settings.case_days,
    )


async def record_written_decision(info: Info, archive_no: str, reference: str) -> models.Household:
    return await _write(
        info,
        archive_no,
        chain.record_written_decision,
        reference=text_of(reference, "reference", max_length=MAX_REFERENCE),
    )


async def adopt_findings(info: Info, request_id: str) -> models.Household:
    """A department's answer taken into the archive of a case not yet decided."""
    ctx = info.context
    checked = row_id(str(request_id), "requestId")
    async with ctx.writing() as session:
        row = await chain.adopt(
            session,
            ctx.cipher,
            request_id=checked,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            actor_role=ctx.principal.role,
            now=ctx.now,
        )
    ctx.touched.add(row.archive_no)
    return row


async def propose_termination(
    info: Info, archive_no: str, reason: TerminationReason, text: str
) -> models.Household:
    return await _write(
        info, archive_no, chain.propose_termination, reason=reason, text=text_of(text, "text")
    )


async def terminate_household(
    info: Info, archive_no: str, reason: TerminationReason, text: str
) -> models.Household:
    return await _write(
        info,
        archive_no,
        chain.terminate,
        reason=reason,
        text=text_of(text, "text"),
        marginal_multiple=info.context.settings.marginal_multiple,
    )


async def complete_review(
    info: Info,
    archive_no: str,
    outcome: ReviewOutcome,
    findings: str,
    incomes: list[MemberIncomeInput] | None = None,
    termination_reason: TerminationReason | None = None,
) -> models.Household:
    given = incomes or []
    if len(given) > MAX_INCOMES:
        raise InvalidInput(f"incomes: at most {MAX_INCOMES}", field="incomes")
    found: dict[str, Decimal] = {}
    for i, entry in enumerate(given):
        member_id = row_id(entry.member_id, f"incomes[{i}].memberId")
        if member_id in found:
            raise InvalidInput(f"incomes[{i}].memberId: named twice", field=f"incomes[{i}]")
        found[member_id] = validate_money(entry.monthly_income, f"incomes[{i}].monthlyIncome")
    return await _write(
        info,
        archive_no,
        rechecks.complete_review,
        outcome=outcome,
        findings=text_of(findings, "findings", max_length=4000),
        incomes=found,
        termination=termination_reason,
        review_months=_review_months(info),
        gradual_exit_months=info.context.settings.gradual_exit_months,
        marginal_multiple=info.context.settings.marginal_multiple,
    )


async def end_gradual_exits(info: Info, region: str | None = None) -> list[str]:
    """Terminate every household whose gradual exit (渐退期) has ended, in scope."""
    ctx = info.context
    async with ctx.writing() as session:
        ended = await rechecks.end_gradual_exits(
            session,
            scope=ctx.principal.scope,
            region=validate_scope(region) if region else None,
            actor=ctx.principal.name,
            actor_role=ctx.principal.role,
            now=ctx.now,
            limit=MAX_SWEEP,
            marginal_multiple=ctx.settings.marginal_multiple,
        )
    ctx.touched.update(ended)
    return ended
