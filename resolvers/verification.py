"""Economic-status verification (家庭经济状况核对): request, queue, answer, override.

Who may call each entry point is policy data; which requests a partner sees is
decided in SQL by its credential's department and region scope
(store/verification.py). Nothing here looks at a role.
"""

from __future__ import annotations

from decimal import Decimal

from audit import fields as F
from audit.lookups import lookup
from domain.archive import parse_archive_no
from domain.bounds import page_size
from domain.enums import HouseholdStatus
from domain.errors import Conflict, InvalidInput
from domain.verification import (
    MAX_BATCH,
    QUEUE_PAGE,
    VERIFIABLE_STATUSES,
    Department,
    Findings,
    VerificationStatus,
    approval_blocker,
    check_consent,
    check_departments,
)
from resolvers.context import Info
from resolvers.pages import Page
from store import verification as store
from store.workflow import household_in_scope

MAX_FINDINGS = 30  # one per member (domain/bounds.py MEMBERS)
MAX_REASON = 2000


class FindingInput:
    """What a department found about one subject of a request; omit what it does not hold.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    subject_id: str  # served as an ID (schema/input_types.py)
    monthly_wage: Decimal | None = None
    monthly_pension: Decimal | None = None
    deposits: Decimal | None = None
    vehicle_count: int | None = None
    vehicle_value: Decimal | None = None
    property_count: int | None = None
    property_area: Decimal | None = None
    business_count: int | None = None
    registration_matches: bool | None = None


class AnswerInput:
    """One request's answer, for `answerVerifications`."""

    request_id: str  # served as an ID (schema/input_types.py)
    findings: list[FindingInput]


def _findings(items: list[FindingInput], where: str = "findings") -> dict[str, Findings]:
    if not items or len(items) > MAX_FINDINGS:
        raise InvalidInput(f"{where}: 1 to {MAX_FINDINGS}, one per subject", field="findings")
    found: dict[str, Findings] = {}
    for item in items:
        if str(item.subject_id) in found:
            raise InvalidInput(f"{where}: one finding per subject", field="findings")
        try:
            found[str(item.subject_id)] = _finding(item)
        except InvalidInput as error:
            if where == "findings":
                raise
            raise InvalidInput(f"{where}: {error}", field="findings") from None
    return found


def _finding(item: FindingInput) -> Findings:
    return Findings(
        monthly_wage=item.monthly_wage,
        monthly_pension=item.monthly_pension,
        deposits=item.deposits,
        vehicle_count=item.vehicle_count,
        vehicle_value=item.vehicle_value,
        property_count=item.property_count,
        property_area=item.property_area,
        business_count=item.business_count,
        registration_matches=item.registration_matches,
    ).check()


# ----------------------------------------------------------------- case staff


async def request_verification(
    info: Info, archive_no: str, departments: list[Department], consent_document: str
) -> list[store.RequestView]:
    parse_archive_no(archive_no)
    chosen = check_departments(departments)
    consent = check_consent(consent_document)
    ctx = info.context
    async with ctx.writing() as session:
        household = await household_in_scope(
            session, scope=ctx.principal.scope, archive_no=archive_no
        )
        if HouseholdStatus(household.status) not in VERIFIABLE_STATUSES:
            raise Conflict(
                f"status: the household is {household.status}; verification starts once "
                "the application is ACCEPTED",
                field="status",
            )
        created = await store.create_requests(
            session,
            archive_no=archive_no,
            departments=chosen,
            consent_document=consent,
            actor=ctx.principal.name,
            now=ctx.now,
            due_on=ctx.settings.calendar.add(ctx.today, ctx.settings.verification_days),
        )
        views = await store.household_requests(
            session,
            ctx.cipher,
            archive_nos=[archive_no],
            scope=ctx.principal.scope,
            only=[r.id for r in created],
        )
    ctx.touched.add(archive_no)
    return views.get(archive_no, [])


async def override_verification(info: Info, request_id: str, reason: str) -> store.RequestView:
    if not reason.strip() or len(reason) > MAX_REASON:
        raise InvalidInput(f"reason: 1 to {MAX_REASON} characters", field="reason")
    ctx = info.context
    async with ctx.writing() as session:
        row = await store.override(
            session,
            request_id=str(request_id),
            scope=ctx.principal.scope,
            reason=reason.strip(),
            actor=ctx.principal.name,
            now=ctx.now,
        )
        views = await store.household_requests(
            session,
            ctx.cipher,
            archive_nos=[row.archive_no],
            scope=ctx.principal.scope,
            only=[row.id],  # however old: the household's newest are not always this one
        )
    ctx.touched.add(row.archive_no)
    (view,) = views[row.archive_no]
    return view


async def check_before_approval(info: Info, archive_no: str) -> None:
    """Approval waits for every verification answer, and for every contradiction to
    be overridden by a county reviewer with a reason (issue 15). Called from the
    approve step, in its transaction."""
    ctx = info.context
    async with ctx.writing() as session:
        states = await store.approval_states(
            session, ctx.cipher, archive_no=archive_no, scope=ctx.principal.scope
        )
    blocker = approval_blocker(states)
    if blocker is not None:
        raise Conflict(blocker, field="verification")


# ----------------------------------------------------------------- partners


async def verification_requests(
    info: Info,
    status: VerificationStatus | None = None,
    first: int | None = QUEUE_PAGE,
    after: str | None = None,
) -> Page[store.QueueRequest]:
    """The caller's department's queue in its scope. Every clear ID number the page
    carries is recorded by blind index in the audit entry (who saw whom), so a page
    holds at most QUEUE_PAGE requests."""
    size = page_size(first)
    if size > QUEUE_PAGE:
        raise InvalidInput(f"first: between 0 and {QUEUE_PAGE}", field="first")
    ctx = info.context
    async with ctx.reading() as session:
        rows, has_next = await store.partner_page(
            session,
            ctx.cipher,
            department=ctx.principal.department,
            scope=ctx.principal.scope,
            status=status,
            first=size,
            after=after,
        )
    for request in rows:
        ctx.touched.add(request.archive_no)
        ctx.lookups.extend(
            lookup(F.LOOKUP_VERIFICATION, s.id_index, found=True)
            for s in request.subjects
            if s.clear
        )
    return Page(rows=[(r, store.encode_cursor(r.id)) for r in rows], has_next=has_next, after=after)


async def answer_verification(
    info: Info, request_id: str, findings: list[FindingInput]
) -> store.QueueRequest:
    found = _findings(findings)
    ctx = info.context
    async with ctx.writing() as session:
        (row,) = await store.answer(
            session,
            ctx.cipher,
            answers=[(str(request_id), found)],
            department=ctx.principal.department,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            now=ctx.now,
        )
        answered = await store.partner_request(
            session,
            ctx.cipher,
            request_id=row.id,
            department=ctx.principal.department,
            scope=ctx.principal.scope,
        )
    ctx.touched.add(row.archive_no)
    return answered  # its subjects masked now: the request is no longer pending


async def answer_verifications(info: Info, answers: list[AnswerInput]) -> int:
    """Up to MAX_BATCH answers, all or none: every answer is checked (its findings
    here, its request and subjects in one read in the store) before any is written.
    Every 25 answers are charged as a call (policies/walk.py BATCH_ARGUMENTS)."""
    if not answers or len(answers) > MAX_BATCH:
        raise InvalidInput(f"answers: 1 to {MAX_BATCH}", field="answers")
    if len({str(a.request_id) for a in answers}) != len(answers):
        raise InvalidInput("answers: each request at most once", field="answers")
    checked = [
        (str(item.request_id), _findings(item.findings, f"answers[{index}].findings"))
        for index, item in enumerate(answers)
    ]
    ctx = info.context
    async with ctx.writing() as session:
        rows = await store.answer(
            session,
            ctx.cipher,
            answers=checked,
            department=ctx.principal.department,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            now=ctx.now,
        )
    ctx.touched.update(row.archive_no for row in rows)
    return len(rows)


# ----------------------------------------------------------------- oversight


async def verification_activity(info: Info, county: str) -> list[store.DepartmentActivity]:
    """Per department, the requests one county sent: received, answered, withdrawn,
    pending and overdue. Counts only, for the security officers' oversight."""
    if len(county) != 6 or not (county.isascii() and county.isdigit()):
        raise InvalidInput("county: six digits", field="county")
    ctx = info.context
    async with ctx.reading() as session:
        return await store.activity(
            session, county=county, scope=ctx.principal.scope, today=ctx.today
        )
