"""Closed vocabularies of the domain, shared by the store and the schema."""

from __future__ import annotations

import enum


class Area(enum.StrEnum):
    """The dual track (双轨): every household is urban or rural."""

    URBAN = "URBAN"
    RURAL = "RURAL"


class HouseholdStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AWAITING_CORRECTION = "AWAITING_CORRECTION"  # returned for missing materials (补正)
    ACCEPTED = "ACCEPTED"
    INVESTIGATED = "INVESTIGATED"
    TOWNSHIP_REVIEWED = "TOWNSHIP_REVIEWED"
    NOTICE = "NOTICE"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"  # the applicant withdrew before a decision
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    GRADUAL_EXIT = "GRADUAL_EXIT"  # income above the line, benefit kept for a while (渐退期)
    TERMINATED = "TERMINATED"
    ARCHIVED = "ARCHIVED"


# Statuses in which a household holds its members' ID numbers: an ID number may
# be claimed by at most one such household nationwide (防止重复享受).
CLAIMING_STATUSES = frozenset(
    {
        HouseholdStatus.SUBMITTED,
        HouseholdStatus.AWAITING_CORRECTION,
        HouseholdStatus.ACCEPTED,
        HouseholdStatus.INVESTIGATED,
        HouseholdStatus.TOWNSHIP_REVIEWED,
        HouseholdStatus.NOTICE,
        HouseholdStatus.APPROVED,
        HouseholdStatus.ACTIVE,
        HouseholdStatus.SUSPENDED,
        HouseholdStatus.GRADUAL_EXIT,
    }
)


class Category(enum.StrEnum):
    """Special archives (专项档案), derived from the members."""

    DISABLED = "DISABLED"
    ELDERLY = "ELDERLY"
    MINOR = "MINOR"
    SERIOUSLY_ILL = "SERIOUSLY_ILL"


class DisabilityKind(enum.StrEnum):
    """The kind of disability on the disability certificate (残疾人证), GB/T 26341."""

    VISUAL = "VISUAL"
    HEARING = "HEARING"
    SPEECH = "SPEECH"
    PHYSICAL = "PHYSICAL"
    INTELLECTUAL = "INTELLECTUAL"
    MENTAL = "MENTAL"
    MULTIPLE = "MULTIPLE"


class AssetKind(enum.StrEnum):
    """What a household declares it owns: savings, vehicles, property, the means of farming."""

    DEPOSIT = "DEPOSIT"  # savings, deposits, securities
    VEHICLE = "VEHICLE"
    HOUSE = "HOUSE"
    LAND = "LAND"
    LIVESTOCK = "LIVESTOCK"


class Sex(enum.StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class Relation(enum.StrEnum):
    HEAD = "HEAD"
    SPOUSE = "SPOUSE"
    CHILD = "CHILD"
    PARENT = "PARENT"
    GRANDCHILD = "GRANDCHILD"
    SIBLING = "SIBLING"
    OTHER = "OTHER"


class PaymentStatus(enum.StrEnum):
    PENDING = "PENDING"
    DISBURSED = "DISBURSED"
    FAILED = "FAILED"


class PaymentKind(enum.StrEnum):
    REGULAR = "REGULAR"  # the month's benefit, one per household and month
    BACK_PAY = "BACK_PAY"  # 补发: what a back-dated raise adds to a month already paid


class Role(enum.StrEnum):
    CASEWORKER = "caseworker"
    COUNTY_REVIEWER = "county_reviewer"
    FINANCE_OFFICER = "finance_officer"
    SUPERVISOR = "supervisor"
    PARTNER = "partner"
    AUDITOR = "auditor"
    SECADMIN = "secadmin"
    SYSADMIN = "sysadmin"


class ProposalStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class ChangeKind(enum.StrEnum):
    INCOME = "INCOME"
    MEMBER_JOINED = "MEMBER_JOINED"
    MEMBER_LEFT = "MEMBER_LEFT"
    ADDRESS = "ADDRESS"
    DEATH = "DEATH"


class RejectionReason(enum.StrEnum):
    """Why an application is refused (不予批准), as the written decision names it."""

    INCOME_ABOVE_LINE = "INCOME_ABOVE_LINE"
    ASSETS_ABOVE_LIMIT = "ASSETS_ABOVE_LIMIT"
    FALSE_INFORMATION = "FALSE_INFORMATION"
    REFUSED_INVESTIGATION = "REFUSED_INVESTIGATION"  # the visit or the authorisation to check
    NOT_RESIDENT = "NOT_RESIDENT"  # not resident, or not registered, in the county
    OTHER = "OTHER"


class TerminationReason(enum.StrEnum):
    """Why a household's cover ends (停保)."""

    INCOME_ABOVE_LINE = "INCOME_ABOVE_LINE"  # also the end of a gradual exit
    ASSETS_ABOVE_LIMIT = "ASSETS_ABOVE_LIMIT"
    DEATH = "DEATH"
    MOVED_AWAY = "MOVED_AWAY"
    REFUSED_REVIEW = "REFUSED_REVIEW"  # refused or repeatedly missed the periodic check
    FALSE_INFORMATION = "FALSE_INFORMATION"
    VOLUNTARY = "VOLUNTARY"  # the household asked to leave
    OTHER = "OTHER"


class ObjectionStatus(enum.StrEnum):
    OPEN = "OPEN"  # blocks the decision until dismissed or upheld
    DISMISSED = "DISMISSED"  # a county reviewer found it unfounded, with reasons
    UPHELD = "UPHELD"  # the case went back to INVESTIGATED for re-investigation
    RECORDED = "RECORDED"  # recorded before objections were decided (migration 0010)


class ReviewOutcome(enum.StrEnum):
    """What a periodic re-check (定期核查) found."""

    CONTINUE = "CONTINUE"
    ADJUST = "ADJUST"
    PROPOSE_TERMINATION = "PROPOSE_TERMINATION"
