"""Mutations of the review chain and dynamic management, one per step.

One mutation per step lets the policy decide each step separately (`write`
on `Mutation.approveApplication` for county reviewers, and so on); all of them
share one implementation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import field
from typing import Any

from domain.archive import parse_archive_no
from domain.bounds import DEFAULT_PAGE
from domain.errors import InvalidInput
from domain.region import validate_scope
from domain.workflow import ReviewClass, Step
from resolvers.context import Info
from resolvers.households import household_page
from resolvers.pages import Page
from resolvers.verification import check_before_approval
from store import models
from store import workflow as store
from store.households import get_household

MAX_DUE = 500


class InvestigationInput:
    """The home visit (入户调查): when, who, what was found.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    visited_on: dt.date
    visitors: list[str]
    findings: str
    photo_refs: list[str] = field(default_factory=list)


async def _step(
    info: Info,
    archive_no: str,
    step: Step,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> models.Household:
    parse_archive_no(archive_no)
    if reason is not None and len(reason) > 2000:
        raise InvalidInput("reason: at most 2000 characters", field="reason")
    ctx = info.context
    async with ctx.writing() as session:
        row = await store.apply_step(
            session,
            archive_no=archive_no,
            scope=ctx.principal.scope,
            step=step,
            reason=reason,
            details=details,
            actor=ctx.principal.name,
            actor_role=ctx.principal.role,
            now=ctx.now,
            archive_after_days=ctx.settings.archive_after_days,
            review_months={ReviewClass(k): v for k, v in ctx.settings.review_months.items()},
            marginal_multiple=ctx.settings.marginal_multiple,
            asset_limits=ctx.settings.asset_limits,
        )
    ctx.touched.add(row.archive_no)
    return row


async def accept_application(
    info: Info, archive_no: str, reason: str | None = None
) -> models.Household:
    return await _step(info, archive_no, Step.ACCEPT, reason)


async def record_investigation(
    info: Info, archive_no: str, investigation: InvestigationInput
) -> models.Household:
    if not investigation.visitors or not investigation.findings.strip():
        raise InvalidInput(
            "investigation: visitors and findings are required", field="investigation"
        )
    if investigation.visited_on > info.context.today:
        raise InvalidInput("investigation.visitedOn: not in the future", field="visitedOn")
    details = {
        "visited_on": investigation.visited_on.isoformat(),
        "visitors": [v.strip() for v in investigation.visitors],
        "findings": investigation.findings.strip(),
        "photo_refs": investigation.photo_refs,
    }
    return await _step(info, archive_no, Step.INVESTIGATE, None, details)


async def review_in_township(info: Info, archive_no: str, opinion: str) -> models.Household:
    if not opinion.strip():
        raise InvalidInput("opinion: the township's opinion is required", field="opinion")
    return await _step(info, archive_no, Step.TOWNSHIP_REVIEW, opinion)


async def publish_notice(info: Info, archive_no: str) -> models.Household:
    return await _step(info, archive_no, Step.PUBLISH_NOTICE)


async def record_objection(info: Info, archive_no: str, text: str) -> models.Household:
    parse_archive_no(archive_no)
    if not text.strip() or len(text) > 2000:
        raise InvalidInput("text: 1 to 2000 characters", field="text")
    ctx = info.context
    async with ctx.writing() as session:
        await store.record_objection(
            session,
            archive_no=archive_no,
            scope=ctx.principal.scope,
            text=text,
            actor=ctx.principal.name,
            now=ctx.now,
        )
        row = await get_household(session, scope=ctx.principal.scope, archive_no=archive_no)
    assert row is not None
    ctx.touched.add(archive_no)
    return row


async def approve_application(
    info: Info, archive_no: str, reason: str | None = None
) -> models.Household:
    parse_archive_no(archive_no)
    await check_before_approval(info, archive_no)  # issue 15: verification answers first
    return await _step(info, archive_no, Step.APPROVE, reason)


async def activate_household(info: Info, archive_no: str) -> models.Household:
    return await _step(info, archive_no, Step.ACTIVATE)


async def suspend_household(info: Info, archive_no: str, reason: str) -> models.Household:
    return await _step(info, archive_no, Step.SUSPEND, reason)


async def resume_household(info: Info, archive_no: str, reason: str) -> models.Household:
    return await _step(info, archive_no, Step.RESUME, reason)


async def archive_household(info: Info, archive_no: str) -> models.Household:
    return await _step(info, archive_no, Step.ARCHIVE)


async def due_for_review(
    info: Info,
    before: dt.date,
    region: str | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
) -> Page[models.Household]:
    stmt = store.due_for_review(
        scope=info.context.principal.scope,
        region=validate_scope(region) if region else None,
        before=before,
    )
    return await household_page(
        info, stmt, key=models.Household.next_review_on, first=first, after=after
    )


async def archive_due(info: Info, region: str | None = None) -> list[str]:
    """Archive (归档) every terminated or rejected household past the configured period."""
    ctx = info.context
    async with ctx.writing() as session:
        archived = await store.archive_due(
            session,
            scope=ctx.principal.scope,
            region=validate_scope(region) if region else None,
            actor=ctx.principal.name,
            actor_role=ctx.principal.role,
            now=ctx.now,
            archive_after_days=ctx.settings.archive_after_days,
            limit=MAX_DUE,
        )
    ctx.touched.update(archived)
    return archived
