"""Verification requests to partner departments: written, queued, answered, read back.

A partner's queue is decided in SQL: the request must be addressed to the
caller's department and lie in its region scope (a range on the archive
number, as for households). Whether a subject's ID number and name leave the
store in clear is decided in SQL too: the ciphertext is selected for the
clear column only while the request is PENDING; otherwise only the masked
form leaves this module. Findings are sealed per subject, bound to its row.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import ColumnElement, case, false, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, InvalidInput, NotFound
from domain.verification import (
    MAX_PER_HOUSEHOLD,
    DeclaredAsset,
    DeclaredMember,
    Department,
    Discrepancy,
    Findings,
    RequestState,
    VerificationStatus,
    discrepancies,
    mask_id_number,
    mask_name,
)
from store.crypto import Cipher
from store.households import code_prefix
from store.models import Asset, Member, VerificationRequest, VerificationSubject

FINDINGS = ("verification_subjects", "findings")  # table and column of the sealed findings


def seal_findings(cipher: Cipher, subject: VerificationSubject, findings: Findings) -> None:
    """A department's findings about one subject, sealed to that subject's row."""
    table, column = FINDINGS
    text = orjson.dumps(findings.to_json()).decode()
    subject.findings_enc = cipher.encrypt(text, table=table, column=column, row_id=subject.id)


def open_findings(cipher: Cipher, subject: VerificationSubject) -> Findings | None:
    """The findings sealed by `seal_findings`; None while the subject is unanswered."""
    if subject.findings_enc is None:
        return None
    table, column = FINDINGS
    text = cipher.decrypt(subject.findings_enc, table=table, column=column, row_id=subject.id)
    return Findings.from_json(orjson.loads(text))


_CURSOR_RE = re.compile(r"\Av:([0-9a-f]{32})\Z")
PENDING = VerificationStatus.PENDING.value


def request_id(now: dt.datetime) -> str:
    """Time-ordered: 12 hex digits of milliseconds, then 80 random bits."""
    return f"{int(now.timestamp() * 1000):012x}{secrets.token_hex(10)}"


def encode_cursor(request_id: str) -> str:
    return base64.urlsafe_b64encode(f"v:{request_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
        match = _CURSOR_RE.match(raw.decode("ascii"))
    except ValueError:
        match = None
    if match is None:
        raise InvalidInput("after: not a cursor from this API", field="after")
    return match.group(1)


def _in_scope(scope: str) -> ColumnElement[bool]:
    """Requests of households in the scope: the archive number starts with the village code."""
    return code_prefix(VerificationRequest.archive_no, scope) if scope else true()


request_in_scope = _in_scope  # for the steps that take an answer into the archive


def _addressed(department: str | None, scope: str) -> ColumnElement[bool]:
    """A partner's requests: its department's, in its scope (no department: none)."""
    if department is None:
        return false()
    return (VerificationRequest.department == department) & _in_scope(scope)


# ----------------------------------------------------------------- requesting


async def create_requests(
    session: AsyncSession,
    *,
    archive_no: str,
    departments: Sequence[Department],
    consent_document: str,
    actor: str,
    now: dt.datetime,
    due_on: dt.date,
) -> list[VerificationRequest]:
    """One PENDING request per department, each covering every current member; a
    department already asked and not yet answering is not asked twice."""
    waiting = (
        await session.scalars(
            select(VerificationRequest.department).where(
                VerificationRequest.archive_no == archive_no,
                VerificationRequest.status == PENDING,
                VerificationRequest.department.in_([d.value for d in departments]),
            )
        )
    ).all()
    if waiting:
        raise Conflict(
            f"departments: {', '.join(sorted(waiting))} already has a pending request "
            "for this household",
            field="departments",
        )
    members = (
        await session.execute(
            select(Member.id, Member.position)
            .where(Member.archive_no == archive_no, Member.active)
            .order_by(Member.position)
        )
    ).all()
    created = []
    for department in departments:
        request = VerificationRequest(
            id=request_id(now),
            archive_no=archive_no,
            department=department.value,
            status=PENDING,
            consent_document=consent_document,
            requested_by=actor,
            requested_at=now,
            due_on=due_on,
        )
        session.add(request)
        for member_id, position in members:
            session.add(
                VerificationSubject(request_id=request.id, member_id=member_id, position=position)
            )
        created.append(request)
    await session.flush()
    return created


async def withdraw_pending(session: AsyncSession, *, archive_no: str) -> int:
    """Withdraw the household's pending requests (the case left the verifiable
    statuses): no department sees their subjects in clear or answers them any more."""
    moved = await session.execute(
        update(VerificationRequest)
        .where(VerificationRequest.archive_no == archive_no, VerificationRequest.status == PENDING)
        .values(status=VerificationStatus.WITHDRAWN.value)
    )
    return int(moved.rowcount)  # type: ignore[attr-defined]


# ----------------------------------------------------------------- the partner's queue


@dataclass(frozen=True, slots=True)
class QueueSubject:
    id: str
    relation: str
    name: str  # clear while the request is PENDING, else masked
    id_number: str  # likewise
    clear: bool
    id_index: bytes  # the blind index, for the audit entry's lookups


@dataclass(frozen=True, slots=True)
class QueueRequest:
    id: str
    archive_no: str  # for the audit entry only; never part of the partner's answer
    department: Department
    status: VerificationStatus
    due_on: dt.date
    requested_at: dt.datetime
    subjects: list[QueueSubject] = field(default_factory=list)


async def partner_page(
    session: AsyncSession,
    cipher: Cipher,
    *,
    department: str | None,
    scope: str,
    status: VerificationStatus | None,
    first: int,
    after: str | None,
) -> tuple[list[QueueRequest], bool]:
    stmt = select(VerificationRequest).where(_addressed(department, scope))
    if status is not None:
        stmt = stmt.where(VerificationRequest.status == status.value)
    if after is not None:
        stmt = stmt.where(VerificationRequest.id > decode_cursor(after))
    rows = (await session.scalars(stmt.order_by(VerificationRequest.id).limit(first + 1))).all()
    page = [_queued(r) for r in rows[:first]]
    by_id = {r.id: r for r in page}
    for subject in await _queue_subjects(session, cipher, department, scope, list(by_id)):
        by_id[subject[0]].subjects.append(subject[1])
    return page, len(rows) > first


async def partner_request(
    session: AsyncSession,
    cipher: Cipher,
    *,
    request_id: str,
    department: str | None,
    scope: str,
) -> QueueRequest:
    """One request of the caller's department and scope, as its queue shows it."""
    row = await session.scalar(
        select(VerificationRequest).where(
            VerificationRequest.id == request_id, _addressed(department, scope)
        )
    )
    if row is None:
        raise NotFound("requestId: no such request for your department", field="requestId")
    found = _queued(row)
    for _, subject in await _queue_subjects(session, cipher, department, scope, [row.id]):
        found.subjects.append(subject)
    return found


def _queued(r: VerificationRequest) -> QueueRequest:
    return QueueRequest(
        id=r.id,
        archive_no=r.archive_no,
        department=Department(r.department),
        status=VerificationStatus(r.status),
        due_on=r.due_on,
        requested_at=r.requested_at,
    )


async def _queue_subjects(
    session: AsyncSession,
    cipher: Cipher,
    department: str | None,
    scope: str,
    request_ids: list[str],
) -> list[tuple[str, QueueSubject]]:
    if not request_ids:
        return []
    # a member who left the household is no longer the department's business
    pending = (VerificationRequest.status == PENDING) & Member.active
    rows = await session.execute(
        select(
            VerificationSubject.request_id,
            VerificationSubject.id,
            Member.id.label("member_id"),
            Member.relation,
            Member.id_index,
            # the clear values are selected only for a current member of a PENDING
            # request; for any other, only the columns that leave this module masked
            case((pending, Member.id_number_enc)).label("id_clear"),
            case((pending, Member.name_enc)).label("name_clear"),
            case((~pending, Member.id_number_enc)).label("id_masked"),
            case((~pending, Member.name_enc)).label("name_masked"),
        )
        .join(VerificationRequest, VerificationRequest.id == VerificationSubject.request_id)
        .join(Member, Member.id == VerificationSubject.member_id)
        .where(VerificationSubject.request_id.in_(request_ids), _addressed(department, scope))
        .order_by(VerificationSubject.request_id, VerificationSubject.position)
    )
    found = []
    for row in rows.all():

        def opened(blob: bytes, column: str, member_id: str = row.member_id) -> str:
            return cipher.decrypt(blob, table="members", column=column, row_id=member_id)

        clear = row.id_clear is not None
        if clear:
            number, name = opened(row.id_clear, "id_number"), opened(row.name_clear, "name")
        else:
            number = mask_id_number(opened(row.id_masked, "id_number"))
            name = mask_name(opened(row.name_masked, "name"))
        found.append(
            (
                row.request_id,
                QueueSubject(
                    id=row.id,
                    relation=row.relation,
                    name=name,
                    id_number=number,
                    clear=clear,
                    id_index=row.id_index,
                ),
            )
        )
    return found


# ----------------------------------------------------------------- answering


async def answer(
    session: AsyncSession,
    cipher: Cipher,
    *,
    answers: Sequence[tuple[str, dict[str, Findings]]],
    department: str | None,
    scope: str,
    actor: str,
    now: dt.datetime,
) -> list[VerificationRequest]:
    """Record a department's findings, one per subject, on PENDING requests: every
    answer of the call is checked before any is written, so a bad one leaves none.

    A request of another department or outside the scope is NOT_FOUND (the same
    answer as a wrong id, so ids are no oracle); an answered or withdrawn one is
    a CONFLICT. The status moves only from PENDING, so of two answers racing
    exactly one is recorded. The requests and their subjects are read in one
    statement each, whatever the number of answers; errors name the answer's index.
    """
    ids = [request_id for request_id, _ in answers]
    single = len(answers) == 1

    def where(index: int, name: str) -> str:
        return name if single else f"answers[{index}].{name}"

    requests = {
        r.id: r
        for r in (
            await session.scalars(
                select(VerificationRequest).where(
                    VerificationRequest.id.in_(ids), _addressed(department, scope)
                )
            )
        ).all()
    }
    subjects: dict[str, list[VerificationSubject]] = {}
    for subject in (
        await session.scalars(
            select(VerificationSubject).where(VerificationSubject.request_id.in_(list(requests)))
        )
    ).all():
        subjects.setdefault(subject.request_id, []).append(subject)
    for index, (request_id, findings) in enumerate(answers):
        request = requests.get(request_id)
        if request is None:
            raise NotFound(
                f"{where(index, 'requestId')}: no such request for your department",
                field="requestId",
            )
        if request.status != PENDING:
            raise Conflict(
                f"{where(index, 'status')}: the request is {request.status}; "
                "it takes no answer any more",
                field="status",
            )
        if {s.id for s in subjects.get(request_id, [])} != set(findings):
            raise InvalidInput(
                f"{where(index, 'findings')}: exactly one finding for each subject of the request",
                field="findings",
            )
    moved = await session.execute(
        update(VerificationRequest)
        .where(VerificationRequest.id.in_(ids), VerificationRequest.status == PENDING)
        .values(status=VerificationStatus.ANSWERED.value, answered_by=actor, answered_at=now)
    )
    if moved.rowcount != len(ids):  # type: ignore[attr-defined]
        raise Conflict("status: a request was answered just now", field="status")
    for request_id, findings in answers:
        for subject in subjects.get(request_id, []):
            seal_findings(cipher, subject, findings[subject.id])
    await session.flush()
    return [requests[request_id] for request_id in ids]


async def override(
    session: AsyncSession,
    *,
    request_id: str,
    scope: str,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> VerificationRequest:
    """A county reviewer's recorded decision to approve despite this request: a
    pending one is withdrawn (the department is no longer asked)."""
    request = await session.scalar(
        select(VerificationRequest).where(VerificationRequest.id == request_id, _in_scope(scope))
    )
    if request is None:
        raise NotFound("requestId: no such request in your region", field="requestId")
    if request.override_at is not None:
        raise Conflict("requestId: this request is overridden already", field="requestId")
    if request.status == PENDING:
        request.status = VerificationStatus.WITHDRAWN.value
    request.override_reason = reason
    request.override_by = actor
    request.override_at = now
    await session.flush()
    return request


# ----------------------------------------------------------------- the archive's view


@dataclass(frozen=True, slots=True)
class SubjectFindings:
    subject_id: str
    member_position: int
    relation: str
    findings: Findings | None


@dataclass(frozen=True, slots=True)
class RequestView:
    row: VerificationRequest
    subjects: list[SubjectFindings]
    discrepancies: list[Discrepancy]

    @property
    def state(self) -> RequestState:
        return RequestState(
            department=Department(self.row.department),
            status=VerificationStatus(self.row.status),
            discrepancies=len(self.discrepancies),
            overridden=self.row.override_at is not None,
        )


async def approval_states(
    session: AsyncSession, cipher: Cipher, *, archive_no: str, scope: str
) -> list[RequestState]:
    """What may hold up the household's approval, over all of its requests however
    many: whether one is pending and not overridden is decided in SQL (EXISTS); the
    answered ones not overridden are read whole to compute their discrepancies."""
    unresolved = (
        (VerificationRequest.archive_no == archive_no)
        & _in_scope(scope)
        & VerificationRequest.override_at.is_(None)
    )
    waiting = await session.scalar(
        select(VerificationRequest.department)
        .where(unresolved, VerificationRequest.status == PENDING)
        .order_by(VerificationRequest.id)
        .limit(1)
    )
    states = []
    if waiting is not None:
        states.append(
            RequestState(
                department=Department(waiting),
                status=VerificationStatus.PENDING,
                discrepancies=0,
                overridden=False,
            )
        )
    views = await household_requests(
        session, cipher, archive_nos=[archive_no], scope=scope, unresolved=True
    )
    states.extend(v.state for v in views.get(archive_no, []))
    return states


async def household_requests(
    session: AsyncSession,
    cipher: Cipher,
    *,
    archive_nos: Sequence[str],
    scope: str,
    unresolved: bool = False,
    only: Sequence[str] | None = None,
) -> dict[str, list[RequestView]]:
    """Each household's requests (newest first, at most MAX_PER_HOUSEHOLD), with the
    findings opened and the discrepancies against what the household declared.
    `unresolved`: every answered request not overridden, however many (approval);
    `only`: these requests, however old."""
    stmt = select(VerificationRequest).where(
        VerificationRequest.archive_no.in_(archive_nos), _in_scope(scope)
    )
    if only is not None:
        stmt = stmt.where(VerificationRequest.id.in_(only))
    if unresolved:
        stmt = stmt.where(
            VerificationRequest.status == VerificationStatus.ANSWERED.value,
            VerificationRequest.override_at.is_(None),
        )
    elif only is None:
        # the newest MAX_PER_HOUSEHOLD of each household, cut in the database
        newest = (
            select(
                VerificationRequest.id,
                func.row_number()
                .over(
                    partition_by=VerificationRequest.archive_no,
                    order_by=VerificationRequest.id.desc(),
                )
                .label("n"),
            )
            .where(VerificationRequest.archive_no.in_(archive_nos), _in_scope(scope))
            .subquery()
        )
        stmt = stmt.join(newest, newest.c.id == VerificationRequest.id).where(
            newest.c.n <= MAX_PER_HOUSEHOLD
        )
    requests = (
        await session.scalars(
            stmt.order_by(VerificationRequest.archive_no, VerificationRequest.id.desc())
        )
    ).all()
    if not requests:
        return {}
    ids = [r.id for r in requests]
    subject_rows = (
        await session.execute(
            select(VerificationSubject, Member.relation, Member.monthly_income)
            .join(Member, Member.id == VerificationSubject.member_id)
            .where(VerificationSubject.request_id.in_(ids))
            .order_by(VerificationSubject.position)
        )
    ).all()
    assets = (
        await session.execute(
            select(Asset.archive_no, Asset.kind, Asset.value).where(
                Asset.archive_no.in_(archive_nos)
            )
        )
    ).all()
    declared_assets: dict[str, list[DeclaredAsset]] = {}
    for archive_no, kind, value in assets:
        declared_assets.setdefault(archive_no, []).append(DeclaredAsset(kind, value))
    subjects: dict[str, list[tuple[SubjectFindings, DeclaredMember]]] = {}
    for subject, relation, income in subject_rows:
        found = open_findings(cipher, subject)
        subjects.setdefault(subject.request_id, []).append(
            (
                SubjectFindings(subject.id, subject.position, relation, found),
                DeclaredMember(subject.position, income),
            )
        )
    views: dict[str, list[RequestView]] = {}
    for request in requests:
        held = views.setdefault(request.archive_no, [])
        if len(held) >= MAX_PER_HOUSEHOLD and not unresolved:
            continue
        pairs = subjects.get(request.id, [])
        answered = {s.member_position: s.findings for s, _ in pairs if s.findings is not None}
        found_discrepancies = discrepancies(
            [m for _, m in pairs], declared_assets.get(request.archive_no, []), answered
        )
        held.append(RequestView(request, [s for s, _ in pairs], found_discrepancies))
    return views


# ----------------------------------------------------------------- oversight


@dataclass(frozen=True, slots=True)
class DepartmentActivity:
    department: Department
    received: int
    answered: int
    withdrawn: int
    pending: int
    overdue: int  # pending past the due date


async def activity(
    session: AsyncSession, *, county: str, scope: str, today: dt.date
) -> list[DepartmentActivity]:
    """Requests per department of one county's households, counted in one statement;
    a department asked nothing there has no row. No person and no archive leaves it."""
    status = VerificationRequest.status

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = await session.execute(
        select(
            VerificationRequest.department,
            func.count(),
            counted(status == VerificationStatus.ANSWERED.value),
            counted(status == VerificationStatus.WITHDRAWN.value),
            counted(status == PENDING),
            counted((status == PENDING) & (VerificationRequest.due_on < today)),
        )
        .where(code_prefix(VerificationRequest.archive_no, county), _in_scope(scope))
        .group_by(VerificationRequest.department)
        .order_by(VerificationRequest.department)
    )
    return [
        DepartmentActivity(Department(d), int(n), int(a), int(w), int(p), int(o))
        for d, n, a, w, p, o in rows.all()
    ]
