"""The archive's tables. Personal values are stored only as ciphertext (`*_enc`).

Households are keyed by their archive number (一户一号): it is never reused and
survives termination, so every record hangs off it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import Money, UtcDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)  # significant digits
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


class Household(Base):
    __tablename__ = "households"

    archive_no: Mapped[str] = mapped_column(String(24), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    area: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    bank_account_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    bank_name: Mapped[str | None] = mapped_column(String(100))
    monthly_benefit: Mapped[Decimal | None] = mapped_column(Money)
    review_class: Mapped[str | None] = mapped_column(String(1))
    version: Mapped[int] = mapped_column(Integer, default=1)
    applied_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    notice_ends_on: Mapped[dt.date | None] = mapped_column(Date)  # public notice (公示) end
    next_review_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    review_flag: Mapped[str | None] = mapped_column(String(200))  # why a re-review is due early
    decided_on: Mapped[dt.date | None] = mapped_column(Date)  # the county's approval or refusal
    # coded reasons of a refusal or a termination: {"step": "REJECT", "reasons": [...]}
    closing_reasons: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    termination_proposal: Mapped[str | None] = mapped_column(String(30))  # the township's
    gradual_exit_until: Mapped[dt.date | None] = mapped_column(Date)  # 渐退期 ends
    missing_materials: Mapped[list[str] | None] = mapped_column(JSON)  # 补正, while waiting
    county_visit_on: Mapped[dt.date | None] = mapped_column(Date)  # county's own home visit
    # 单人保: the benefit covers the members flagged `covered` only
    single_person_cover: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # 低保边缘家庭, set when the household is decided or changes (domain.benefit.is_marginal);
    # stored so that `households(marginal: true)` is a partial-index read, not a computation
    marginal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the number of the paper-era archive it was imported from (原档案编号), unique
    # within its county (migration 0017): a second import of the same file finds it
    legacy_archive_no: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index(
            "uq_households_legacy_archive_no_county",
            "legacy_archive_no",
            sql_text("substr(village_code, 1, 6)"),
            unique=True,
        ),
        Index(
            "ix_households_marginal",
            "archive_no",
            postgresql_where=sql_text("marginal"),
            sqlite_where=sql_text("marginal = 1"),
        ),
        # a scope's counts by status and track from the index alone (migration 0021)
        Index("ix_households_scope_counts", "archive_no", "status", "area"),
        # `dueForReview` (migration 0027): its page in review-date order, a scope's
        # households filtered in the index; its count from the scope's index entries
        Index("ix_households_due_order", "status", "next_review_on", "archive_no"),
        Index("ix_households_due_scope", "status", "archive_no", "next_review_on"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        # a scope's special-archive counts (专项档案) from the index alone (migration 0021)
        Index(
            "ix_members_scope_categories",
            "archive_no",
            "active",
            "birth_date",
            "disability_grade",
            "serious_illness",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    relation: Mapped[str] = mapped_column(String(12))
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    sex: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    monthly_income: Mapped[Decimal] = mapped_column(Money)
    disability_grade: Mapped[int | None] = mapped_column(SmallInteger)
    disability_kind: Mapped[str | None] = mapped_column(String(12))  # DisabilityKind
    serious_illness: Mapped[bool] = mapped_column(Boolean, default=False)
    student: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # declared a close relative of social assistance staff (近亲属备案)
    staff_relative: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # named for single-person cover (单人保): the household's benefit is for these alone
    covered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class IdClaim(Base):
    """An ID number held by a pending or active household: its primary key is the

    blind index, so two households can never hold the same person at once, even
    when two submissions race (the database refuses the second insert).
    """

    __tablename__ = "id_claims"

    id_index: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    claimed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class MemberDuplicate(Base):
    """A household holding a person whom another claiming household holds too: one row
    per (blind index, household), for active members of claiming households, and only
    for blind indexes held by two households or more. Kept by database triggers
    (migration 0025) in the transaction of each change to a member or to a household's
    status, so `duplicateCandidates` reads its scope's rows of this table alone."""

    __tablename__ = "member_duplicates"
    __table_args__ = (Index("ix_member_duplicates_archive_no", "archive_no", "id_index"),)

    id_index: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(24), primary_key=True)
    members: Mapped[int] = mapped_column(Integer)  # its active members carrying the index


class HouseholdTally(Base):
    """Households per county (of the archive number), track and status. Kept by database
    triggers (migration 0026) in the transaction of each change to a household, so
    `statistics` of a province or a city adds up its counties' rows."""

    __tablename__ = "household_tallies"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    area: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    households: Mapped[int] = mapped_column(Integer)


class PaymentTally(Base):
    """Payments per county (of the archive number), month, track (the household's) and
    status: how many and their sum. Kept like `HouseholdTally`, by each change to a
    payment or to a household's track."""

    __tablename__ = "payment_tallies"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    area: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    payments: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[Decimal] = mapped_column(Money)


class Standard(Base):
    __tablename__ = "standards"
    __table_args__ = (
        Index("ix_standards_county_area_from", "county_code", "area", "effective_from"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    county_code: Mapped[str] = mapped_column(String(6))
    area: Mapped[str] = mapped_column(String(5))
    monthly_amount: Mapped[Decimal] = mapped_column(Money)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))


class Review(Base):
    """One step of the review chain (分级审核): who moved the archive, when and why."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    step: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        # one REGULAR payment per household and month (seq 0), and back pay lines for
        # that month numbered 1, 2, … in the order made: a batch that computed the same
        # number as a concurrent one inserts nothing (ON CONFLICT DO NOTHING)
        UniqueConstraint("archive_no", "period", "seq", name="uq_payments_household_period_seq"),
        CheckConstraint(
            "(kind = 'REGULAR' AND seq = 0) OR (kind = 'BACK_PAY' AND seq > 0)", name="kind_seq"
        ),
        # one month's payments of a scope, counted and summed from the index (migration 0021)
        Index("ix_payments_period_scope", "period", "archive_no", "status", "amount"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10))
    bank_account_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="REGULAR", server_default="REGULAR")
    seq: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


class PaymentBatch(Base):
    """One run of the monthly batch for a county; a failed payment is retried in a later one."""

    __tablename__ = "payment_batches"
    __table_args__ = (Index("ix_payment_batches_county_period", "county_code", "period"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    county_code: Mapped[str] = mapped_column(String(6))
    period: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))


class BenefitHistory(Base):
    """Every amount a household was granted, from when, and why (approval, change, new standard)."""

    __tablename__ = "benefit_history"
    __table_args__ = (Index("ix_benefit_history_archive_from", "archive_no", "effective_from"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"))
    amount: Mapped[Decimal] = mapped_column(Money)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    # the household the amount was computed on: its size and total monthly income
    # (none on entries from before they were kept), so a standard set later from an
    # earlier date recomputes each month on the household as it was then
    members: Mapped[int | None] = mapped_column(SmallInteger)
    income: Mapped[Decimal | None] = mapped_column(Money)
    # under single-person cover (单人保), each covered member's income, as decimal
    # strings: the amount is then the sum of their own gaps (domain.benefit)
    covered_incomes: Mapped[list[str] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))


class Objection(Base):
    """An objection raised during the public notice (公示)."""

    __tablename__ = "objections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="OPEN", server_default="OPEN")
    resolution: Mapped[str | None] = mapped_column(Text)  # why dismissed or upheld
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ChangeReport(Base):
    __tablename__ = "change_reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ArchiveSequence(Base):
    """Last sequence handed out per village and year; the row lock serialises allocation."""

    __tablename__ = "archive_sequences"

    village_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Credential(Base):
    """A bearer credential. The token itself is never stored, only its SHA-256."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    principal: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    region_scope: Mapped[str] = mapped_column(String(12))
    fields: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    documents: Mapped[list[str] | None] = mapped_column(JSON)  # trusted document ids, if bound
    cert_fingerprint: Mapped[str | None] = mapped_column(String(64))  # client certificate SHA-256
    # verification (issue 15): the partner department a partner credential answers for
    department: Mapped[str | None] = mapped_column(String(20))


class VerificationRequest(Base):
    """A household sent to one partner department for economic-status verification (核对).

    Ids sort by creation time (a millisecond prefix), so a department's queue pages
    by id in the order the requests came in.
    """

    __tablename__ = "verification_requests"
    __table_args__ = (
        Index("ix_verification_requests_department_status", "department", "status", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"), index=True)
    department: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    consent_document: Mapped[str] = mapped_column(String(200))  # the signed 授权书's reference
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    due_on: Mapped[dt.date] = mapped_column(Date)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(String(100))
    override_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class VerificationSubject(Base):
    """One member covered by a request; the department's findings, encrypted."""

    __tablename__ = "verification_subjects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("verification_requests.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    position: Mapped[int] = mapped_column(SmallInteger)
    findings_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # JSON of domain Findings


class PolicyRule(Base):
    """One Casbin rule (the layout of the Casbin SQL adapters: ptype, v0..v5)."""

    __tablename__ = "policy_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ptype: Mapped[str] = mapped_column(String(4))
    v0: Mapped[str] = mapped_column(String(100), default="")
    v1: Mapped[str] = mapped_column(String(100), default="")
    v2: Mapped[str] = mapped_column(String(100), default="")
    v3: Mapped[str] = mapped_column(String(100), default="")
    v4: Mapped[str] = mapped_column(String(100), default="")
    v5: Mapped[str] = mapped_column(String(100), default="")


class PolicyShipped(Base):
    """A shipped default rule once applied here; later releases add only rules not seen yet."""

    __tablename__ = "policy_shipped"

    rule: Mapped[str] = mapped_column(String(400), primary_key=True)


class PolicyState(Base):
    """A single row whose version every policy change bumps; servers poll it to reload."""

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


class PolicyProposal(Base):
    """A policy change that widens access, held until a second secadmin decides it.

    `change` is {"add": [rule, ...], "remove": [rule, ...]} (rule tuples, ptype
    first); `widened` the decisions it broadened when proposed, capped for
    display, and `widened_digest` all of them, compared again at approval.
    """

    __tablename__ = "policy_proposals"
    __table_args__ = (Index("ix_policy_proposals_status", "status", "proposed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    proposer: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    base_version: Mapped[int] = mapped_column(Integer)  # the policy version it was judged on
    status: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    widened: Mapped[list[list[str]]] = mapped_column(JSON)
    widened_count: Mapped[int] = mapped_column(Integer)
    widened_digest: Mapped[str] = mapped_column(String(64))


class PolicyHistory(Base):
    """One rule added to or removed from the policy: who, when (the permission review's
    diff against the shipped policy names them). Written with the change itself."""

    __tablename__ = "policy_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    change: Mapped[str] = mapped_column(String(10))  # add | remove
    rule: Mapped[str] = mapped_column(String(400), index=True)  # store.policy.rule_key


class PermissionReview(Base):
    """A security officer's periodic review of who holds what (权限审查)."""

    __tablename__ = "permission_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, int]] = mapped_column(JSON)  # counts per list, as seen


class TrustedDocument(Base):
    """An approved operation document, by the SHA-256 of its normalized text; or a
    manifest's document as its tool wrote it, by that tool's hash (gateway/persisted.py)."""

    __tablename__ = "trusted_documents"

    id: Mapped[str] = mapped_column(String(71), primary_key=True)  # "sha256:" + 64 hex
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """One request, whatever its outcome. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    principal: Mapped[str | None] = mapped_column(String(100), index=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    entry: Mapped[str] = mapped_column(Text)  # canonical JSON of every audited field
    role: Mapped[str | None] = mapped_column(String(30), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # a copy of the entry's credential id, for the permission review's usage figures
    # (one index range per credential instead of parsing every entry's JSON)
    credential_id: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_audit_entries_credential_time", "credential_id", "time"),)


class AuditArchive(Base):
    """Which archive numbers each audit entry touched, for "who looked at household X"."""

    __tablename__ = "audit_archives"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    archive_no: Mapped[str] = mapped_column(String(24), primary_key=True, index=True)


class AuditHead(Base):
    """The signed checkpoint of the chain's head: truncating the tail cannot go unseen."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    # after a purge of entries past retention, the chain starts after base_seq
    base_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    base_hash: Mapped[str] = mapped_column(String(64), server_default="0" * 64)
    base_signature: Mapped[str] = mapped_column(String(64), server_default="")
    # when the base entry was written and when it was purged, signed with the base:
    # a purge inside the minimum retention is seen by verification (null: an older purge)
    base_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AuditVerification(Base):
    """One run of the chain verification, as security officers see it in the console."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    entries: Mapped[int] = mapped_column(BigInteger)
    first_bad: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str] = mapped_column(String(100))


class AuditRetention(Base):
    """How long audit entries are kept; inside this window no one can delete one."""

    __tablename__ = "audit_retention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    days: Mapped[int] = mapped_column(Integer)


class AlertThreshold(Base):
    """A misuse rule's threshold for a role (domain/alerts.py): data a secadmin edits."""

    __tablename__ = "alert_thresholds"

    rule: Mapped[str] = mapped_column(String(20), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Alert(Base):
    """A misuse alert raised over the audit log, with the entries it rests on."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "principal", "window_start", name="uq_alerts_rule_window"),
        Index("ix_alerts_status_raised", "status", "raised_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    rule: Mapped[str] = mapped_column(String(20))
    principal: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[list[int]] = mapped_column(JSON)  # audit sequence numbers
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class AlertScan(Base):
    """How far the alert rules have read the audit log (one row)."""

    __tablename__ = "alert_scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class CredentialClient(Base):
    """Client addresses each credential was used from (the NEW_CLIENT rule)."""

    __tablename__ = "credential_clients"

    credential_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ArchiveDocument(Base):
    """A scanned document of an archive (立案存储): what it is, never its bytes.

    The sealed bytes are in `document_contents` (or, by setting, a directory:
    store/documents.py), so listing a household's documents never reads them.
    No code path deletes a row; on PostgreSQL a trigger refuses it as well.
    """

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_archive_no_uploaded", "archive_no", "uploaded_at"),
        # what one principal filed today: the daily allowance is checked at each upload
        Index("ix_documents_uploaded_by_at", "uploaded_by", "uploaded_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    archive_no: Mapped[str] = mapped_column(ForeignKey("households.archive_no"))
    category: Mapped[str] = mapped_column(String(24))
    record_class: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext
    step: Mapped[str | None] = mapped_column(String(30))
    storage: Mapped[str] = mapped_column(String(10))  # DATABASE or DIRECTORY
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DocumentContent(Base):
    """The AES-GCM ciphertext of one document, bound to its id (the database store)."""

    __tablename__ = "document_contents"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)


class Export(Base):
    """A file taken out of the archive (issue 20): who took which kind, with what
    parameters, how many rows, and the SHA-256 of the bytes handed out.

    The file itself is kept sealed so that `GET /exports/{id}` serves exactly the
    bytes the audit entry names; only the principal who asked for it may fetch it.
    Files are sealed in pieces (`export_chunks`, `chunks` of them), each piece with
    its own tag, so neither writing nor serving holds the whole file. A file written
    before that (migration 0022 alone) is one AES-GCM blob in `content_enc`, with
    `chunks` NULL, and is still served.
    """

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(30))
    format: Mapped[str] = mapped_column(String(5))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    principal: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    scope: Mapped[str] = mapped_column(String(12))
    credential_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    row_count: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[Decimal | None] = mapped_column(Money)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    chunks: Mapped[int | None] = mapped_column(Integer)
    # when the file was deleted past its keeping time (DIBAO_EXPORT_KEEP_DAYS)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ExportChunk(Base):
    """One piece of an export's file, sealed with its index and whether it is the
    last (store/crypto.py `seal_chunk`)."""

    __tablename__ = "export_chunks"

    export_id: Mapped[str] = mapped_column(ForeignKey("exports.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)


class SpotCheck(Base):
    """One county's spot check (抽查) of a month's township reviews: the seed, the share
    and the candidates' count recorded, so the draw can be made again and compared.
    One per county and month: drawing again until the sample suits is not possible."""

    __tablename__ = "spot_checks"
    __table_args__ = (UniqueConstraint("county_code", "period", name="uq_spot_checks_county"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    county_code: Mapped[str] = mapped_column(String(6))
    period: Mapped[str] = mapped_column(String(7))
    share: Mapped[str] = mapped_column(String(6))  # a decimal as text: exact on both
    seed: Mapped[str] = mapped_column(String(20))  # a 63-bit integer as text
    candidates: Mapped[int] = mapped_column(Integer)
    drawn_by: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SpotCheckCase(Base):
    """A case drawn: its approval waits for the county's own home visit."""

    __tablename__ = "spot_check_cases"

    spot_check_id: Mapped[str] = mapped_column(ForeignKey("spot_checks.id"), primary_key=True)
    archive_no: Mapped[str] = mapped_column(
        ForeignKey("households.archive_no"), primary_key=True, index=True
    )
