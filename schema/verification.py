"""GraphQL types of the economic-status verification (家庭经济状况核对).

Two views of one request: a partner department's (`VerificationRequest`: the
subjects to match, nothing of the archive) and the case staff's
(`HouseholdVerification`: the answer and its discrepancies). Which of them a
role reads, and how, is policy data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from domain import bounds
from domain.verification import Department, DiscrepancyKind, VerificationStatus, is_overdue
from schema.context import Info
from schema.enums import Relation
from schema.pricing import priced
from store.verification import DepartmentActivity, QueueRequest, RequestView, SubjectFindings

strawberry.enum(Department, description="A partner department that holds facts (核对部门).")
strawberry.enum(VerificationStatus, description="Where a verification request stands.")
strawberry.enum(DiscrepancyKind, description="What a department's answer contradicts.")


@strawberry.type(description="A member to match in the department's own records.")
class VerificationSubject:
    id: strawberry.ID
    relation: Relation
    name: str = strawberry.field(description="In clear only while the request is PENDING.")
    id_number: str = strawberry.field(description="In clear only while the request is PENDING.")


@strawberry.type(description="A verification request addressed to your department.")
class VerificationRequest:
    id: strawberry.ID
    department: Department
    status: VerificationStatus
    due_on: dt.date
    requested_at: dt.datetime
    subjects: list[VerificationSubject] = strawberry.field(metadata=priced(bound=bounds.MEMBERS))

    @classmethod
    def from_queued(cls, r: QueueRequest) -> VerificationRequest:
        return cls(
            id=strawberry.ID(r.id),
            department=r.department,
            status=r.status,
            due_on=r.due_on,
            requested_at=r.requested_at,
            subjects=[
                VerificationSubject(
                    id=strawberry.ID(s.id),
                    relation=Relation(s.relation),
                    name=s.name,
                    id_number=s.id_number,
                )
                for s in r.subjects
            ],
        )


@strawberry.type(description="What a department found about one member.")
class VerificationFinding:
    subject_id: strawberry.ID
    member_position: int
    relation: Relation
    answered: bool
    monthly_wage: Decimal | None
    monthly_pension: Decimal | None
    deposits: Decimal | None
    vehicle_count: int | None
    vehicle_value: Decimal | None
    property_count: int | None
    property_area: Decimal | None
    business_count: int | None
    registration_matches: bool | None

    @classmethod
    def from_subject(cls, s: SubjectFindings) -> VerificationFinding:
        f = s.findings
        return cls(
            subject_id=strawberry.ID(s.subject_id),
            member_position=s.member_position,
            relation=Relation(s.relation),
            answered=f is not None,
            monthly_wage=f.monthly_wage if f else None,
            monthly_pension=f.monthly_pension if f else None,
            deposits=f.deposits if f else None,
            vehicle_count=f.vehicle_count if f else None,
            vehicle_value=f.vehicle_value if f else None,
            property_count=f.property_count if f else None,
            property_area=f.property_area if f else None,
            business_count=f.business_count if f else None,
            registration_matches=f.registration_matches if f else None,
        )


@strawberry.type(description="A declared value a department's answer contradicts.")
class VerificationDiscrepancy:
    kind: DiscrepancyKind
    member_position: int | None = strawberry.field(
        description="The member's position; null for the household's assets."
    )
    declared: str
    found: str


@strawberry.type(description="An economic-status verification of this household (核对).")
class HouseholdVerification:
    view: strawberry.Private[RequestView]
    id: strawberry.ID
    department: Department
    status: VerificationStatus
    consent_document: str
    requested_by: str
    requested_at: dt.datetime
    due_on: dt.date
    answered_by: str | None
    answered_at: dt.datetime | None
    override_reason: str | None
    override_by: str | None
    override_at: dt.datetime | None
    findings: list[VerificationFinding] = strawberry.field(metadata=priced(bound=bounds.MEMBERS))
    # at most three contradictions per member, and three of the household's assets
    discrepancies: list[VerificationDiscrepancy] = strawberry.field(
        metadata=priced(bound=bounds.MEMBERS * 3 + 3)
    )

    @classmethod
    def from_view(cls, v: RequestView) -> HouseholdVerification:
        r = v.row
        return cls(
            view=v,
            id=strawberry.ID(r.id),
            department=Department(r.department),
            status=VerificationStatus(r.status),
            consent_document=r.consent_document,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            due_on=r.due_on,
            answered_by=r.answered_by,
            answered_at=r.answered_at,
            override_reason=r.override_reason,
            override_by=r.override_by,
            override_at=r.override_at,
            findings=[VerificationFinding.from_subject(s) for s in v.subjects],
            discrepancies=[
                VerificationDiscrepancy(
                    kind=d.kind, member_position=d.member, declared=d.declared, found=d.found
                )
                for d in v.discrepancies
            ],
        )

    @strawberry.field(description="Still pending after its due date (working days).")
    def overdue(self, info: Info) -> bool:
        return is_overdue(
            VerificationStatus(self.view.row.status), self.view.row.due_on, info.context.today
        )


@strawberry.type(description="One department's verification requests from a county (oversight).")
class VerificationActivity:
    department: Department
    received: int
    answered: int
    withdrawn: int
    pending: int
    overdue: int = strawberry.field(description="Pending past the due date (working days).")

    @classmethod
    def from_activity(cls, a: DepartmentActivity) -> VerificationActivity:
        return cls(
            department=a.department,
            received=a.received,
            answered=a.answered,
            withdrawn=a.withdrawn,
            pending=a.pending,
            overdue=a.overdue,
        )
