"""The domain's enums as GraphQL enums, with their descriptions.

Registered here, once, before any type names them: import an enum from this
module in `schema/` and it is the described one (the domain's enums stay plain).
"""

from __future__ import annotations

import strawberry

from domain.alerts import AlertRule, AlertStatus
from domain.enums import (
    Area,
    AssetKind,
    Category,
    ChangeKind,
    DisabilityKind,
    HouseholdStatus,
    ObjectionStatus,
    PaymentKind,
    PaymentStatus,
    ProposalStatus,
    RejectionReason,
    Relation,
    ReviewOutcome,
    Sex,
    TerminationReason,
)
from domain.exports import ExportFormat, ExportKind

__all__ = [
    "AlertRule",
    "AlertStatus",
    "Area",
    "AssetKind",
    "Category",
    "ChangeKind",
    "DisabilityKind",
    "ExportFormat",
    "ExportKind",
    "HouseholdStatus",
    "ObjectionStatus",
    "PaymentKind",
    "PaymentStatus",
    "ProposalStatus",
    "RejectionReason",
    "Relation",
    "ReviewOutcome",
    "Sex",
    "TerminationReason",
]

strawberry.enum(Area, description="The dual track (双轨): urban or rural standard.")
strawberry.enum(HouseholdStatus, description="Where the archive stands in the review chain.")
strawberry.enum(Category, description="Special archives (专项档案) derived from the members.")
strawberry.enum(Sex)
strawberry.enum(
    DisabilityKind, description="The kind of disability on the disability certificate (残疾人证)."
)
strawberry.enum(AssetKind, description="What a household declares it owns (财产).")
strawberry.enum(Relation, description="Relation to the head of household.")
strawberry.enum(PaymentStatus)
strawberry.enum(
    PaymentKind,
    description="REGULAR: the month's benefit; BACK_PAY (补发): the difference a standard "
    "raised from an earlier date adds to a month already paid.",
)
strawberry.enum(
    ProposalStatus,
    description="A policy change that widens access: PENDING until a second secadmin "
    "APPROVES or REJECTS it, or its proposer WITHDRAWS it.",
)
strawberry.enum(ChangeKind, description="What changed in the household.")
strawberry.enum(
    RejectionReason,
    description="Why an application is refused (不予批准), as the decision names it.",
)
strawberry.enum(TerminationReason, description="Why a household's cover ends (停保).")
strawberry.enum(
    ObjectionStatus,
    description="OPEN blocks approval; DISMISSED (county, reasons) or UPHELD (re-investigated).",
)
strawberry.enum(
    ExportKind,
    description="A file a county hands in: PAYMENT_ROLL (发放名册) of a batch, "
    "PUBLIC_LIST (公示) of a township or county, STATISTICAL_RETURN (统计报表) of a county "
    "or city for a month, STAFF_ASSESSMENT (考核) per principal over months.",
)
strawberry.enum(ExportFormat, description="XLSX, or CSV in UTF-8 with its BOM.")
strawberry.enum(ReviewOutcome, description="What a periodic re-check (定期核查) found.")
strawberry.enum(
    AlertRule,
    description="Misuse rules over the audit log: distinct households read in an hour, "
    "lookups not found or colliding claims, refused requests, reads outside working hours, "
    "a credential used from a new client address.",
)
strawberry.enum(AlertStatus, description="OPEN until an auditor acknowledges it with a note.")
