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
    ACCEPTED = "ACCEPTED"
    INVESTIGATED = "INVESTIGATED"
    TOWNSHIP_REVIEWED = "TOWNSHIP_REVIEWED"
    NOTICE = "NOTICE"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    ARCHIVED = "ARCHIVED"


# Statuses in which a household holds its members' ID numbers: an ID number may
# be claimed by at most one such household nationwide (防止重复享受).
CLAIMING_STATUSES = frozenset(
    {
        HouseholdStatus.SUBMITTED,
        HouseholdStatus.ACCEPTED,
        HouseholdStatus.INVESTIGATED,
        HouseholdStatus.TOWNSHIP_REVIEWED,
        HouseholdStatus.NOTICE,
        HouseholdStatus.APPROVED,
        HouseholdStatus.ACTIVE,
        HouseholdStatus.SUSPENDED,
    }
)


class Category(enum.StrEnum):
    """Special archives (专项档案), derived from the members."""

    DISABLED = "DISABLED"
    ELDERLY = "ELDERLY"
    MINOR = "MINOR"
    SERIOUSLY_ILL = "SERIOUSLY_ILL"


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


class Role(enum.StrEnum):
    CASEWORKER = "caseworker"
    COUNTY_REVIEWER = "county_reviewer"
    FINANCE_OFFICER = "finance_officer"
    SUPERVISOR = "supervisor"
    PARTNER = "partner"
    AUDITOR = "auditor"
    SECADMIN = "secadmin"
    SYSADMIN = "sysadmin"


class ChangeKind(enum.StrEnum):
    INCOME = "INCOME"
    MEMBER_JOINED = "MEMBER_JOINED"
    MEMBER_LEFT = "MEMBER_LEFT"
    ADDRESS = "ADDRESS"
    DEATH = "DEATH"
