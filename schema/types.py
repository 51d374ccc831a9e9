"""GraphQL object types. Personal values are decrypted only when a field is asked for.

Types hold their ORM row privately; nested lists come through the request's
DataLoaders, so a page costs the same number of statements for 5 or 500 rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from domain import bounds
from domain import documents as document_rules
from domain import verification as verification_rules
from domain.calendar import WorkingCalendar, beijing_day
from domain.categories import MemberFacts, household_categories, member_categories
from domain.deadlines import Deadline, WrittenDecision, case_deadline, written_decision
from domain.workflow import Step
from resolvers.households import Recipient
from schema.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_SECRETS,
    MEMBER_COLUMNS,
    MEMBER_SECRETS,
    values,
)
from schema.context import Info
from schema.documents import Document
from schema.enums import (
    Area,
    Category,
    DisabilityKind,
    HouseholdStatus,
    ObjectionStatus,
    PaymentKind,
    PaymentStatus,
    RejectionReason,
    Relation,
    Sex,
    TerminationReason,
)
from schema.pricing import priced
from schema.verification import HouseholdVerification
from store import models


def _facts(row: models.Member) -> MemberFacts:
    return MemberFacts(
        birth_date=row.birth_date,
        disability_grade=row.disability_grade,
        serious_illness=row.serious_illness,
    )


@strawberry.type(description="A statistical division (province to village).")
class Region:
    code: str
    name: str
    level: str
    parent_code: str | None

    @classmethod
    def from_row(cls, row: models.Region) -> Region:
        return cls(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code)


@strawberry.type(description="A member of a household.")
class Member:
    row: strawberry.Private[models.Member]
    id: strawberry.ID = strawberry.field(
        description="Stable identifier; change reports and re-checks name a member by it."
    )
    relation: Relation
    sex: Sex
    birth_date: dt.date
    monthly_income: Decimal
    disability_grade: int | None
    disability_kind: DisabilityKind | None = strawberry.field(
        description="The kind of disability, beside its grade (sensitive health data)."
    )
    covered: bool = strawberry.field(
        description="Named for single-person cover (单人保): the benefit is for these members."
    )
    serious_illness: bool
    student: bool
    staff_relative: bool = strawberry.field(
        description="Declared a close relative of social assistance staff (近亲属备案)."
    )

    @classmethod
    def from_row(cls, row: models.Member) -> Member:
        return cls(row=row, **values(MEMBER_COLUMNS, row))

    def _open(self, info: Info, field: str) -> str | None:
        secret = MEMBER_SECRETS[field]
        blob = getattr(self.row, secret.stored)
        return secret.open(blob, getattr(self.row, secret.row_id), info.context.cipher)

    @strawberry.field
    def name(self, info: Info) -> str | None:
        return self._open(info, "name")

    @strawberry.field(description="Resident ID number (GB 11643).")
    def id_number(self, info: Info) -> str | None:
        return self._open(info, "id_number")

    @strawberry.field
    def phone(self, info: Info) -> str | None:
        return self._open(info, "phone")

    @strawberry.field(metadata=priced(bound=4))
    def categories(self, info: Info) -> list[Category]:
        return sorted(member_categories(_facts(self.row), info.context.today))


@strawberry.type(description="One step of the review chain: who, when, why.")
class Review:
    step: str
    from_status: HouseholdStatus | None
    to_status: HouseholdStatus
    actor: str
    actor_role: str
    reason: str | None
    details: JSON | None = strawberry.field(
        description="Step details, e.g. the home visit: visitedOn, visitors, findings, photo refs."
    )
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: models.Review) -> Review:
        return cls(
            details=row.details,  # type: ignore[arg-type]  # JSON is a NewType over object
            step=row.step,
            from_status=HouseholdStatus(row.from_status) if row.from_status else None,
            to_status=HouseholdStatus(row.to_status),
            actor=row.actor,
            actor_role=row.actor_role,
            reason=row.reason,
            created_at=row.created_at,
        )


@strawberry.type(description="Time an archive spent in one stage of the review chain.")
class StageTime:
    status: HouseholdStatus
    days: float = strawberry.field(description="Elapsed calendar days, to the hundredth.")
    working_days: int = strawberry.field(
        description=(
            "Working days in the stage (工作日: weekends and public holidays do not count, "
            "moved working days (调休) do), after the day it began up to the day it ended "
            "or today: the unit of every time limit (57号)."
        )
    )


def stage_times(
    reviews: list[models.Review], now: dt.datetime, calendar: WorkingCalendar
) -> list[StageTime]:
    """Each status the archive entered, and how long it stayed (to now for the current one)."""
    times: list[StageTime] = []
    # steps recorded without a move (a county visit, a re-check) do not start a stage
    reviews = [r for r in reviews if r.from_status != r.to_status]
    if not reviews:  # a household with no review steps yet has no stages to time
        return times
    for current, following in zip(reviews, [*reviews[1:], None], strict=True):
        until = following.created_at if following is not None else now
        days = (until - current.created_at).total_seconds() / 86400
        working = calendar.between(beijing_day(current.created_at), beijing_day(until))
        times.append(
            StageTime(
                status=HouseholdStatus(current.to_status),
                days=round(days, 2),
                working_days=working,
            )
        )
    return times


def _steps(reviews: list[models.Review]) -> list[tuple[Step, dt.date]]:
    return [(Step(r.step), beijing_day(r.created_at)) for r in reviews]


@strawberry.type(
    name="CaseDeadline",
    description=(
        "When a case is due (57号): 30 working days from its latest acceptance to the "
        "county's decision, 45 once extended; the time a case waits for missing "
        "materials (补正) does not count, as resubmission is a new acceptance."
    ),
)
class CaseDeadline:
    accepted_on: dt.date
    due_on: dt.date
    extended: bool
    decided_on: dt.date | None = strawberry.field(
        description="The decision (or withdrawal); null while the case is pending."
    )
    working_days_left: int | None = strawberry.field(
        description="Working days to the due date; negative past it; null once decided."
    )
    overdue: bool = strawberry.field(
        description="Still pending after the due date, or decided after it."
    )

    @classmethod
    def from_deadline(cls, found: Deadline) -> CaseDeadline:
        return cls(
            accepted_on=found.accepted_on,
            due_on=found.due_on,
            extended=found.extended,
            decided_on=found.decided_on,
            working_days_left=found.working_days_left,
            overdue=found.overdue,
        )


@strawberry.type(
    name="WrittenDecision",
    description=(
        "The written notice (书面通知) of the latest refusal or termination, due within 3 "
        "working days of the decision."
    ),
)
class WrittenDecisionView:
    decided_on: dt.date
    due_on: dt.date
    issued_on: dt.date | None = strawberry.field(
        description="The day the notice was recorded as sent; null while it is owed."
    )
    overdue: bool

    @classmethod
    def from_found(cls, found: WrittenDecision) -> WrittenDecisionView:
        return cls(
            decided_on=found.decided_on,
            due_on=found.due_on,
            issued_on=found.issued_on,
            overdue=found.overdue,
        )


@strawberry.type(description="A reported change: what was, what is, who, when, why.")
class ChangeRecord:
    kind: str
    before: JSON | None
    after: JSON | None
    reason: str | None
    reported_by: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: models.ChangeReport) -> ChangeRecord:
        return cls(
            kind=row.kind,
            before=row.before,  # type: ignore[arg-type]  # JSON is a NewType over object
            after=row.after,  # type: ignore[arg-type]
            reason=row.reason,
            reported_by=row.reported_by,
            created_at=row.created_at,
        )


@strawberry.type(description="An objection raised during the public notice (公示).")
class ObjectionRecord:
    id: strawberry.ID
    text: str
    recorded_by: str
    created_at: dt.datetime
    status: ObjectionStatus
    resolution: str | None = strawberry.field(description="Why it was dismissed or upheld.")
    resolved_by: str | None
    resolved_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: models.Objection) -> ObjectionRecord:
        return cls(
            id=strawberry.ID(row.id),
            text=row.text,
            recorded_by=row.recorded_by,
            created_at=row.created_at,
            status=ObjectionStatus(row.status),
            resolution=row.resolution,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
        )


@strawberry.type(description="An amount the household was granted, from when, and why.")
class BenefitChange:
    amount: Decimal
    effective_from: dt.date
    reason: str
    created_by: str


@strawberry.type(description="A monthly benefit payment.")
class Payment:
    row: strawberry.Private[models.Payment]
    id: strawberry.ID
    period: str
    amount: Decimal
    status: PaymentStatus
    kind: PaymentKind = strawberry.field(
        description="REGULAR, or BACK_PAY (补发): a later line for `period`, the month it "
        "makes up for, paid in the batch `batchId`."
    )
    bank_reference: str | None
    batch_id: str | None
    attempts: int
    failure_reason: str | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: models.Payment) -> Payment:
        return cls(
            row=row,
            id=strawberry.ID(row.id),
            period=row.period,
            amount=row.amount,
            status=PaymentStatus(row.status),
            kind=PaymentKind(row.kind),
            bank_reference=row.bank_reference,
            batch_id=row.batch_id,
            attempts=row.attempts,
            failure_reason=row.failure_reason,
            created_at=row.created_at,
        )

    @strawberry.field
    def bank_account(self, info: Info) -> str | None:
        if self.row.bank_account_enc is None:
            return None
        return info.context.cipher.decrypt(
            self.row.bank_account_enc, table="payments", column="bank_account", row_id=self.row.id
        )


@strawberry.type(description="An asset recorded for the household.")
class Asset:
    kind: str
    description: str | None
    value: Decimal

    @classmethod
    def from_row(cls, row: models.Asset) -> Asset:
        return cls(kind=row.kind, description=row.description, value=row.value)


@strawberry.type(description="A county's monthly standard for one track, with its effective dates.")
class Standard:
    county_code: str
    area: Area
    monthly_amount: Decimal
    effective_from: dt.date
    effective_to: dt.date | None

    @classmethod
    def from_row(cls, row: models.Standard) -> Standard:
        return cls(
            county_code=row.county_code,
            area=Area(row.area),
            monthly_amount=row.monthly_amount,
            effective_from=row.effective_from,
            effective_to=row.effective_to,
        )


@strawberry.type(description="A household archive (一户一号).")
class Household:
    row: strawberry.Private[models.Household]
    archive_no: str
    region_code: str
    area: Area
    status: HouseholdStatus
    address: str | None
    bank_name: str | None
    monthly_benefit: Decimal | None
    review_class: str | None
    applied_at: dt.datetime
    updated_at: dt.datetime
    next_review_on: dt.date | None = strawberry.field(description="The next periodic check.")
    decided_on: dt.date | None = strawberry.field(
        description="When the county approved, refused or terminated (the decision date)."
    )
    rejection_reasons: list[RejectionReason] = strawberry.field(
        description="The coded reasons of a refusal; empty unless refused.",
        metadata=priced(bound=len(RejectionReason)),
    )
    termination_reason: TerminationReason | None = strawberry.field(
        description="The coded reason the cover ended, once terminated."
    )
    termination_proposal: TerminationReason | None = strawberry.field(
        description="The township's proposal to end the cover, awaiting the county."
    )
    gradual_exit_until: dt.date | None = strawberry.field(
        description="During a gradual exit (渐退期): the day it ends; paid until then."
    )
    missing_materials: list[str] = strawberry.field(
        description="While AWAITING_CORRECTION: the materials asked for (补正).",
        metadata=priced(bound=bounds.MISSING_MATERIALS),
    )
    county_visit_on: dt.date | None = strawberry.field(
        description="The county's own home visit, needed when a member is a relative of staff."
    )
    single_person_cover: bool = strawberry.field(
        description="Single-person cover (单人保): the benefit covers the `covered` members only."
    )
    marginal: bool = strawberry.field(
        description=(
            "A low-income edge family (低保边缘家庭): refused or leaving, with per-capita "
            "income under the edge line (a multiple of the local standard)."
        )
    )
    legacy_archive_no: str | None = strawberry.field(
        description=(
            "The paper-era archive number (原档案编号) of a household brought in by bulk "
            "import; unique within its county."
        )
    )

    @classmethod
    def from_row(cls, row: models.Household) -> Household:
        return cls(row=row, **values(HOUSEHOLD_COLUMNS, row))

    @strawberry.field
    def bank_account(self, info: Info) -> str | None:
        secret = HOUSEHOLD_SECRETS["bank_account"]
        blob = getattr(self.row, secret.stored)
        return secret.open(blob, getattr(self.row, secret.row_id), info.context.cipher)

    @strawberry.field
    async def region(self, info: Info) -> Region | None:
        row = await info.context.loaders.regions.load(self.row.village_code)
        return None if row is None else Region.from_row(row)

    @strawberry.field(metadata=priced(bound=bounds.MEMBERS))
    async def members(self, info: Info) -> list[Member]:
        rows = await info.context.loaders.members.load(self.archive_no)
        return [Member.from_row(r) for r in rows if r.active]

    @strawberry.field(metadata=priced(bound=4))
    async def categories(self, info: Info) -> list[Category]:
        rows = await info.context.loaders.members.load(self.archive_no)
        facts = (_facts(r) for r in rows if r.active)
        return sorted(household_categories(facts, info.context.today))

    @strawberry.field(metadata=priced(bound=bounds.REVIEWS))
    async def reviews(self, info: Info) -> list[Review]:
        return [
            Review.from_row(r) for r in await info.context.loaders.reviews.load(self.archive_no)
        ]

    @strawberry.field(
        description="Objections raised during the public notice.",
        metadata=priced(bound=bounds.OBJECTIONS),
    )
    async def objections(self, info: Info) -> list[ObjectionRecord]:
        rows = await info.context.loaders.objections.load(self.archive_no)
        return [ObjectionRecord.from_row(r) for r in rows]

    @strawberry.field(
        description="Every amount granted, oldest first (approval, changes, standards).",
        metadata=priced(bound=bounds.BENEFIT_HISTORY),
    )
    async def benefit_history(self, info: Info) -> list[BenefitChange]:
        rows = await info.context.loaders.benefits.load(self.archive_no)
        return [
            BenefitChange(
                amount=r.amount,
                effective_from=r.effective_from,
                reason=r.reason,
                created_by=r.created_by,
            )
            for r in rows
        ]

    @strawberry.field(
        description="Reported changes (动态管理), oldest first.",
        metadata=priced(bound=bounds.CHANGES),
    )
    async def changes(self, info: Info) -> list[ChangeRecord]:
        rows = await info.context.loaders.changes.load(self.archive_no)
        return [ChangeRecord.from_row(r) for r in rows]

    @strawberry.field(
        description="Timeliness (时效性): days spent in each stage so far.",
        metadata=priced(bound=20),
    )
    async def stage_days(self, info: Info) -> list[StageTime]:
        rows = await info.context.loaders.reviews.load(self.archive_no)
        return stage_times(rows, info.context.now, info.context.settings.calendar)

    @strawberry.field(
        description=("The case's deadline (时限) in working days; null for a case never accepted."),
    )
    async def deadline(self, info: Info) -> CaseDeadline | None:
        ctx = info.context
        rows = await ctx.loaders.reviews.load(self.archive_no)
        found = case_deadline(
            _steps(rows), ctx.today, ctx.settings.calendar, ctx.settings.case_days
        )
        return CaseDeadline.from_deadline(found) if found is not None else None

    @strawberry.field(
        description=(
            "The written notice owed for the latest refusal or termination; null when "
            "there was none."
        ),
    )
    async def written_decision(self, info: Info) -> WrittenDecisionView | None:
        ctx = info.context
        rows = await ctx.loaders.reviews.load(self.archive_no)
        found = written_decision(
            _steps(rows), ctx.today, ctx.settings.calendar, ctx.settings.case_days
        )
        return WrittenDecisionView.from_found(found) if found is not None else None

    @strawberry.field(metadata=priced(bound=bounds.PAYMENTS))
    async def payments(self, info: Info) -> list[Payment]:
        rows = await info.context.loaders.payments.load(self.archive_no)
        return [Payment.from_row(r) for r in rows]

    @strawberry.field(metadata=priced(bound=bounds.ASSETS))
    async def assets(self, info: Info) -> list[Asset]:
        return [Asset.from_row(r) for r in await info.context.loaders.assets.load(self.archive_no)]

    @strawberry.field(
        description="Economic-status verifications (核对), newest first, with discrepancies.",
        metadata=priced(bound=verification_rules.MAX_PER_HOUSEHOLD),
    )
    async def verifications(self, info: Info) -> list[HouseholdVerification]:
        views = await info.context.loaders.verifications.load(self.archive_no)
        return [HouseholdVerification.from_view(v) for v in views]

    @strawberry.field(
        description="Scanned documents (立案存储), newest first: what was filed, not the bytes.",
        metadata=priced(bound=document_rules.MAX_PER_HOUSEHOLD),
    )
    async def documents(self, info: Info) -> list[Document]:
        rows = await info.context.loaders.documents.load(self.archive_no)
        return [Document.from_row(r) for r in rows[: document_rules.MAX_PER_HOUSEHOLD]]


@strawberry.type(description="Answer to a partner's question: is this person a current recipient?")
class RecipientCheck:
    is_recipient: bool
    status: HouseholdStatus | None
    county_code: str | None
    name: str | None
    id_number: str | None

    @classmethod
    def from_answer(cls, answer: Recipient) -> RecipientCheck:
        return cls(
            is_recipient=answer.is_recipient,
            status=answer.status,
            county_code=answer.county_code,
            name=answer.name,
            id_number=answer.id_number,
        )
