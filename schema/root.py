"""The schema's entry points (names fixed by the SPEC) and its construction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from audit.logsafe import describe
from resolvers import admin, applications, changes, timeliness, verification, workflow
from resolvers import audit_events as audit_resolvers
from resolvers import duplicates as duplicate_resolvers
from resolvers import households as household_resolvers
from resolvers import payments as payment_resolvers
from resolvers import standards as standard_resolvers
from resolvers.admin import CredentialInfo, PolicyChange, PolicyRule
from schema import input_types  # noqa: F401  # the resolvers' inputs, made GraphQL inputs
from schema.audit_log import (
    ActivityBucket,
    AuditChainStatus,
    AuditEventConnection,
    AuditVerificationRun,
    LookupAlert,
)
from schema.connections import (
    DuplicateCandidateConnection,
    HouseholdConnection,
    VerificationRequestConnection,
)
from schema.errors import error_code
from schema.finance import PaymentBatchResult, PaymentBatchSummary, StandardChange
from schema.resolve import each, optional, returning
from schema.statistics import Statistics
from schema.types import Household, Payment, RecipientCheck, Standard
from schema.verification import HouseholdVerification, VerificationRequest


@strawberry.type
class Query:
    household: Household | None = strawberry.field(
        resolver=returning(optional(Household.from_row), household_resolvers.household),
        description="One archive by its number, if in your region.",
    )
    households: HouseholdConnection | None = strawberry.field(
        resolver=returning(HouseholdConnection.from_page, household_resolvers.households),
        description="Archives in your region, filtered and paged.",
    )
    verify_recipient: RecipientCheck | None = strawberry.field(
        resolver=returning(RecipientCheck.from_answer, household_resolvers.verify_recipient),
        description="Whether a person is a current recipient; masked details only.",
    )

    policy_rules: list[PolicyRule] = strawberry.field(
        resolver=admin.policy_rules, description="The access policy in force (secadmin)."
    )
    due_for_review: HouseholdConnection = strawberry.field(
        resolver=returning(HouseholdConnection.from_page, workflow.due_for_review),
        description="Active households whose periodic re-review falls on or before a date.",
    )
    payment_batches: list[PaymentBatchSummary] = strawberry.field(
        resolver=returning(
            each(PaymentBatchSummary.from_summary), payment_resolvers.payment_batches
        ),
        description="A county's payment batches, newest first, with totals per status.",
    )
    duplicate_candidates: DuplicateCandidateConnection = strawberry.field(
        resolver=returning(
            DuplicateCandidateConnection.from_page, duplicate_resolvers.duplicate_candidates
        ),
        description="ID numbers held by more than one pending or active household (reviewers).",
    )
    overdue: HouseholdConnection = strawberry.field(
        resolver=returning(HouseholdConnection.from_page, timeliness.overdue),
        description="Households in a stage longer than its time limit (时效性).",
    )
    statistics: Statistics = strawberry.field(
        resolver=returning(Statistics.from_found, timeliness.statistics),
        description="Counts and amounts by track, status and category in your region.",
    )
    standards: list[Standard] = strawberry.field(
        resolver=returning(each(Standard.from_row), standard_resolvers.standards),
        description="A county's standards, with effective dates.",
    )
    audit_events: AuditEventConnection = strawberry.field(
        resolver=returning(AuditEventConnection.from_page, audit_resolvers.audit_events),
        description="The audit log, newest first, filtered (auditor).",
    )
    audit_activity: list[ActivityBucket] = strawberry.field(
        resolver=returning(each(ActivityBucket.from_row), audit_resolvers.audit_activity),
        description="Refused and failed requests over time, per principal or role (auditor).",
    )
    lookup_alerts: list[LookupAlert] = strawberry.field(
        resolver=returning(each(LookupAlert.from_tally), audit_resolvers.lookup_alerts),
        description="Credentials with runs of lookup misses or claim conflicts (auditor).",
    )
    audit_chain: AuditChainStatus = strawberry.field(
        resolver=returning(AuditChainStatus.from_status, audit_resolvers.audit_chain),
        description="Size and head of the audit chain, and its last verification (auditor).",
    )
    credentials: list[CredentialInfo] = strawberry.field(
        resolver=admin.credentials, description="Issued credentials, never tokens (sysadmin)."
    )
    # --- verification with partner departments (issue 15)
    verification_requests: VerificationRequestConnection = strawberry.field(
        resolver=returning(
            VerificationRequestConnection.from_page, verification.verification_requests
        ),
        description="Your department's verification requests in your region (partner).",
    )


@strawberry.type
class Mutation:
    submit_application: Household = strawberry.field(
        resolver=returning(Household.from_row, applications.submit_application),
        description="Submit a new application; the household enters the review chain as SUBMITTED.",
    )
    accept_application: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.accept_application),
        description="Township acceptance of a submitted application (caseworker).",
    )
    record_investigation: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.record_investigation),
        description="Record the home visit (入户调查) (caseworker).",
    )
    review_in_township: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.review_in_township),
        description="The township's review opinion (caseworker).",
    )
    publish_notice: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.publish_notice),
        description="Start the seven-day public notice (公示) (caseworker).",
    )
    record_objection: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.record_objection),
        description="Record an objection raised during the notice (caseworker).",
    )
    approve_application: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.approve_application),
        description="County approval after the notice; sets the benefit (county reviewer).",
    )
    reject_application: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.reject_application),
        description="County rejection, with a reason (county reviewer).",
    )
    activate_household: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.activate_household),
        description="Start paying an approved household (county reviewer).",
    )
    suspend_household: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.suspend_household),
        description="Suspend an active household, with a reason (county reviewer).",
    )
    resume_household: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.resume_household),
        description="Resume a suspended household, with a reason (county reviewer).",
    )
    terminate_household: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.terminate_household),
        description="Terminate, with a reason; the archive is kept (county reviewer).",
    )
    archive_household: Household = strawberry.field(
        resolver=returning(Household.from_row, workflow.archive_household),
        description="Archive (归档) a terminated or rejected household (county reviewer).",
    )
    generate_payments: PaymentBatchResult = strawberry.field(
        resolver=returning(PaymentBatchResult.from_outcome, payment_resolvers.generate_payments),
        description="Run a county's monthly batch: one payment per ACTIVE household (finance).",
    )
    record_disbursement: Payment = strawberry.field(
        resolver=returning(Payment.from_row, payment_resolvers.record_disbursement),
        description="Record what the bank did with a PENDING payment (finance).",
    )
    archive_due: list[str] = strawberry.field(
        resolver=workflow.archive_due,
        description="Archive every terminated or rejected household past the period (county).",
    )
    report_change: Household = strawberry.field(
        resolver=returning(Household.from_row, changes.report_change),
        description="Report a change (income, members, address, death) (caseworker).",
    )
    set_standard: StandardChange = strawberry.field(
        resolver=returning(StandardChange.from_change, standard_resolvers.set_standard),
        description="New local standard; recomputes, flags active households (county reviewer).",
    )
    grant_permission: PolicyChange = strawberry.field(
        resolver=admin.grant_permission, description="Add a permission rule (secadmin)."
    )
    revoke_permission: PolicyChange = strawberry.field(
        resolver=admin.revoke_permission, description="Remove a permission rule (secadmin)."
    )
    grant_role: PolicyChange = strawberry.field(
        resolver=admin.grant_role, description="Let a role inherit another (secadmin)."
    )
    revoke_role: PolicyChange = strawberry.field(
        resolver=admin.revoke_role, description="Remove a role inheritance (secadmin)."
    )
    verify_audit_chain: AuditVerificationRun = strawberry.field(
        resolver=returning(AuditVerificationRun.from_row, audit_resolvers.verify_audit_chain),
        description="Recompute the audit chain now and record the result (auditor).",
    )
    revoke_credential: CredentialInfo = strawberry.field(
        resolver=admin.revoke_credential, description="Revoke a credential at once (sysadmin)."
    )
    # --- verification with partner departments (issue 15)
    request_verification: list[HouseholdVerification] = strawberry.field(
        resolver=returning(
            each(HouseholdVerification.from_view), verification.request_verification
        ),
        description="Send the household to partner departments for verification (核对).",
    )
    answer_verification: VerificationRequest = strawberry.field(
        resolver=returning(VerificationRequest.from_queued, verification.answer_verification),
        description="Your department's findings, one per subject of the request (partner).",
    )
    answer_verifications: int = strawberry.field(
        resolver=verification.answer_verifications,
        description="Up to 500 answers at once, all or none; how many were recorded (partner).",
    )
    override_verification: HouseholdVerification = strawberry.field(
        resolver=returning(HouseholdVerification.from_view, verification.override_verification),
        description="Approve despite this request, with a recorded reason (county reviewer).",
    )


log = logging.getLogger("dibao.graphql")


class QuietSchema(strawberry.Schema):
    """Logs only unexpected errors: a refusal or a bad input is an answer, not a fault."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if error_code(error) != "INTERNAL":
                continue
            # never the document, the values or a message: the path, classes and frames
            original = error.original_error
            log.error(
                "internal error at %s: %s",
                ".".join(str(p) for p in error.path or ()) or "-",
                describe(original) if original else "GraphQLError",
            )


Extension = type[SchemaExtension] | Callable[[], SchemaExtension]


def build_schema(*, extensions: Sequence[Extension] = ()) -> strawberry.Schema:
    """The schema with the extensions its caller passes in, run in that order.

    The gateway passes the served pipeline (limits, tracing, the policy gate:
    gateway/served.py); without extensions this is the bare schema that the
    schema file and the benchmark's baseline use.
    """
    return QuietSchema(
        query=Query,
        mutation=Mutation,
        extensions=list(extensions),
        config=StrawberryConfig(disable_field_suggestions=True),
    )
