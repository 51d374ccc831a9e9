"""Permission review (权限审查): the lists a security officer reviews, the recorded
reviews and whether one is due."""

from __future__ import annotations

import datetime as dt

import strawberry

from policies.bounds import PAGE
from resolvers import review
from resolvers.pages import Page
from schema.admin import CredentialInfo, PolicyRule
from schema.connections import PageInfo, page_info
from schema.pricing import priced
from store import models
from store.review import MAX_DIFFERENCES, MAX_LISTED
from store.review import PolicyDifference as PolicyDifferenceRow


@strawberry.type(description="A credential whose region scope is wider than its use.")
class BroaderScope:
    credential: CredentialInfo
    used_region: str = strawberry.field(
        description="The narrowest province, city or county holding every household it "
        "read in the last 30 days: the scope its work needs."
    )
    households_read_30d: int

    @classmethod
    def from_found(cls, found: review.BroaderScope) -> BroaderScope:
        return cls(
            credential=CredentialInfo.from_row(found.credential),
            used_region=found.used_region,
            households_read_30d=found.households,
        )


@strawberry.type(description="A rule in force that differs from the shipped policy.")
class PolicyDifference:
    change: str = strawberry.field(
        description="ADDED: in force, not shipped; REMOVED: shipped, not in force."
    )
    rule: PolicyRule
    changed_by: str | None = strawberry.field(
        description="Who made the change; null when no recorded change explains it "
        "(the policy table was edited outside the API)."
    )
    changed_at: dt.datetime | None

    @classmethod
    def from_found(cls, found: PolicyDifferenceRow) -> PolicyDifference:
        return cls(
            change=found.change.upper(),
            rule=PolicyRule.from_tuple(found.rule),
            changed_by=found.changed_by,
            changed_at=found.changed_at,
        )


@strawberry.type(description="What a permission review looks at (权限审查).")
class PermissionReviewLists:
    unused_days: int
    unused: list[CredentialInfo] = strawberry.field(
        metadata=priced(bound=MAX_LISTED),
        description="Live credentials with no audited request in `unusedDays` days.",
    )
    expiring: list[CredentialInfo] = strawberry.field(
        metadata=priced(bound=MAX_LISTED), description="Live credentials expiring within 14 days."
    )
    broader_than_use: list[BroaderScope] = strawberry.field(
        metadata=priced(bound=MAX_LISTED),
        description="National, province or city credentials whose reads of the last 30 "
        "days all lie in one narrower region.",
    )
    policy_differences: list[PolicyDifference] = strawberry.field(
        metadata=priced(bound=MAX_DIFFERENCES),
        description="Rules added to or removed from the shipped policy, newest change first.",
    )

    @classmethod
    def from_lists(cls, lists: review.ReviewLists) -> PermissionReviewLists:
        return cls(
            unused_days=lists.unused_days,
            unused=[CredentialInfo.from_row(c) for c in lists.unused],
            expiring=[CredentialInfo.from_row(c) for c in lists.expiring],
            broader_than_use=[BroaderScope.from_found(b) for b in lists.broader],
            policy_differences=[PolicyDifference.from_found(d) for d in lists.differences],
        )


@strawberry.type(description="A recorded permission review: who, when, and what was seen.")
class PermissionReview:
    id: strawberry.ID
    at: dt.datetime
    reviewer: str
    role: str
    note: str
    unused_days: int
    unused: int
    expiring: int
    broader_than_use: int
    policy_differences: int

    @classmethod
    def from_row(cls, row: models.PermissionReview) -> PermissionReview:
        seen = row.summary
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            reviewer=row.reviewer,
            role=row.role,
            note=row.note,
            unused_days=int(seen.get("unusedDays", 0)),
            unused=int(seen.get("unused", 0)),
            expiring=int(seen.get("expiring", 0)),
            broader_than_use=int(seen.get("broaderThanUse", 0)),
            policy_differences=int(seen.get("policyDifferences", 0)),
        )


@strawberry.type
class PermissionReviewEdge:
    node: PermissionReview
    cursor: str


@strawberry.type(description="Recorded permission reviews, newest first (Relay connection).")
class PermissionReviewConnection:
    edges: list[PermissionReviewEdge] = strawberry.field(metadata=priced(bound=PAGE))
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[models.PermissionReview]) -> PermissionReviewConnection:
        return cls(
            edges=[
                PermissionReviewEdge(node=PermissionReview.from_row(r), cursor=c)
                for r, c in page.rows
            ],
            page_info=page_info(page.cursors, has_next=page.has_next, after=page.after),
        )


@strawberry.type(description="When the last review was, and whether the next is overdue.")
class PermissionReviewDue:
    last_review_at: dt.datetime | None
    last_reviewer: str | None
    period_days: int = strawberry.field(description="DIBAO_REVIEW_PERIOD_DAYS")
    due_at: dt.datetime | None = strawberry.field(description="Null: never reviewed.")
    overdue: bool

    @classmethod
    def from_due(cls, due: review.DueReview) -> PermissionReviewDue:
        return cls(
            last_review_at=due.due.last_at,
            last_reviewer=due.reviewer,
            period_days=due.period_days,
            due_at=due.due.due_at,
            overdue=due.due.overdue,
        )
