"""The schema's entry points (names fixed by the SPEC) and its construction."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError, GraphQLObjectType
from strawberry.extensions import SchemaExtension
from strawberry.file_uploads import Upload
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from audit.logsafe import describe
from domain.bounds import MEMBERS
from domain.verification import MAX_DEPARTMENTS, QUEUE_PAGE
from policies.bounds import MAX_PAGE, SCAN
from resolvers import (
    admin,
    applications,
    chain,
    changes,
    proposals,
    review,
    timeliness,
    verification,
    workflow,
)
from resolvers import alerts as alert_resolvers
from resolvers import audit_events as audit_resolvers
from resolvers import bank_returns as bank_return_resolvers
from resolvers import documents as document_resolvers
from resolvers import duplicates as duplicate_resolvers
from resolvers import exports as export_resolvers
from resolvers import households as household_resolvers
from resolvers import imports as import_resolvers
from resolvers import payments as payment_resolvers
from resolvers import spotchecks as spotcheck_resolvers
from resolvers import standards as standard_resolvers
from schema import input_types  # noqa: F401  # the resolvers' inputs, made GraphQL inputs
from schema.admin import CredentialInfo, PolicyChange, PolicyProposal, PolicyRule
from schema.alerts import Alert, AlertThreshold
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
from schema.documents import Document
from schema.errors import error_code
from schema.exports import BankReturnResult, ExportRecord, ExportTicket
from schema.finance import PaymentBatchResult, PaymentBatchSummary, StandardChange
from schema.imports import ImportResult
from schema.pricing import priced
from schema.resolve import described, each, optional, returning, served
from schema.review import (
    PermissionReview,
    PermissionReviewConnection,
    PermissionReviewDue,
    PermissionReviewLists,
)
from schema.spotchecks import SpotCheck
from schema.statistics import Statistics
from schema.types import Household, Payment, RecipientCheck, Standard
from schema.verification import (
    HouseholdVerification,
    VerificationActivity,
    VerificationRequest,
)


@strawberry.type
class Query:
    # Each root field declares its cost beyond 1 (0: reads by key or by page, priced
    # by its lists' bounds) and, for a list, its bound (schema/pricing.py).
    household: Household | None = strawberry.field(
        resolver=returning(
            optional(Household.from_row),
            household_resolvers.household,
            archive_no=described("一户一号"),
        ),
        description="One archive by its number, if in your region.",
        metadata=priced(cost=0),
    )
    households: HouseholdConnection | None = strawberry.field(
        resolver=returning(HouseholdConnection.from_page, household_resolvers.households),
        description="Archives in your region, filtered and paged.",
        metadata=priced(cost=0),
    )
    verify_recipient: RecipientCheck | None = strawberry.field(
        resolver=returning(RecipientCheck.from_answer, household_resolvers.verify_recipient),
        description="Whether a person is a current recipient; masked details only.",
        metadata=priced(cost=0),
    )

    policy_rules: list[PolicyRule] = strawberry.field(
        resolver=returning(each(PolicyRule.from_tuple), admin.policy_rules),
        description="The access policy in force (secadmin).",
        metadata=priced(bound=5000, cost=0),
    )
    policy_proposals: list[PolicyProposal] = strawberry.field(
        resolver=returning(
            each(PolicyProposal.from_row),
            proposals.policy_proposals,
            status=described("Only proposals in this state (default PENDING; null: all)."),
        ),
        description="Policy changes that widen access, newest first (secadmin; auditor reads).",
        metadata=priced(bound=proposals.LIST_LIMIT, cost=0),
    )
    due_for_review: HouseholdConnection = strawberry.field(
        resolver=returning(HouseholdConnection.from_page, workflow.due_for_review),
        description="Active households whose periodic re-review falls on or before a date.",
        metadata=priced(cost=0),
    )
    # one county's payments grouped by batch: a few per document
    payment_batches: list[PaymentBatchSummary] = strawberry.field(
        resolver=returning(
            each(PaymentBatchSummary.from_summary), payment_resolvers.payment_batches
        ),
        description="A county's payment batches, newest first, with totals per status.",
        metadata=priced(bound=500, cost=20_000),
    )
    duplicate_candidates: DuplicateCandidateConnection = strawberry.field(
        resolver=returning(
            DuplicateCandidateConnection.from_page, duplicate_resolvers.duplicate_candidates
        ),
        description="ID numbers held by more than one pending or active household (reviewers).",
        metadata=priced(cost=0),
    )
    overdue: HouseholdConnection = strawberry.field(
        resolver=returning(
            HouseholdConnection.from_page,
            timeliness.overdue,
            stage=described("Households in this stage longer than its limit (working days)."),
            verification=described(
                "Instead of a stage: households with a partner department's answer past "
                "its due date (核对)."
            ),
        ),
        description=(
            "Households in a stage longer than its time limit (时效性), or waiting on a "
            "partner department's overdue answer."
        ),
        metadata=priced(cost=0),
    )
    # aggregates over a whole scope cost SCAN (policies/bounds.py): one per document
    statistics: Statistics = strawberry.field(
        resolver=returning(Statistics.from_found, timeliness.statistics),
        description="Counts and amounts by track, status and category in your region.",
        metadata=priced(cost=SCAN),
    )
    standards: list[Standard] = strawberry.field(
        resolver=returning(each(Standard.from_row), standard_resolvers.standards),
        description="A county's standards, with effective dates.",
        metadata=priced(bound=100, cost=0),
    )
    audit_events: AuditEventConnection = strawberry.field(
        resolver=returning(
            AuditEventConnection.from_page,
            audit_resolvers.audit_events,
            looked_up_id_number=described(
                "Entries that looked up or claimed this person (matched by blind "
                "index; the number itself is never recorded, here or in this request's entry)."
            ),
        ),
        description="The audit log, newest first, filtered (auditor).",
        metadata=priced(cost=0),
    )
    audit_activity: list[ActivityBucket] = strawberry.field(
        resolver=returning(each(ActivityBucket.from_row), audit_resolvers.audit_activity),
        description="Refused and failed requests over time, per principal or role (auditor).",
        metadata=priced(bound=5000, cost=SCAN),
    )
    alerts: list[Alert] = strawberry.field(
        resolver=returning(each(Alert.from_row), alert_resolvers.alerts),
        description="Misuse alerts, newest first: OPEN by default (auditor, secadmin).",
        # an indexed read of at most MAX_ALERTS rows
        metadata=priced(bound=alert_resolvers.MAX_ALERTS, cost=0),
    )
    alert_thresholds: list[AlertThreshold] = strawberry.field(
        resolver=returning(each(AlertThreshold.from_threshold), alert_resolvers.alert_thresholds),
        description="The misuse rules' thresholds per role (auditor, secadmin).",
        metadata=priced(bound=100, cost=0),
    )
    lookup_alerts: list[LookupAlert] = strawberry.field(
        resolver=returning(each(LookupAlert.from_tally), audit_resolvers.lookup_alerts),
        description="Credentials with runs of lookup misses or claim conflicts (auditor).",
        metadata=priced(bound=5000, cost=SCAN),
    )
    audit_chain: AuditChainStatus = strawberry.field(
        resolver=returning(AuditChainStatus.from_status, audit_resolvers.audit_chain),
        description="Size and head of the audit chain, and its last verification (auditor).",
        metadata=priced(cost=SCAN),
    )
    credentials: list[CredentialInfo] = strawberry.field(
        resolver=returning(each(CredentialInfo.from_row), admin.credentials),
        description="Issued credentials, never tokens, with their use from the audit log "
        "(sysadmin; auditor and secadmin for the permission review).",
        metadata=priced(bound=5000, cost=0),
    )
    # --- permission review (权限审查, issue 17)
    permission_review: PermissionReviewLists = strawberry.field(
        resolver=returning(
            PermissionReviewLists.from_lists,
            review.permission_review,
            unused_days=described("Days without an audited request (default 90)"),
        ),
        description="Credentials unused, expiring, broader than their use, and the policy's "
        "differences from the shipped one (auditor, secadmin).",
        metadata=priced(cost=SCAN),
    )
    permission_reviews: PermissionReviewConnection = strawberry.field(
        resolver=returning(PermissionReviewConnection.from_page, review.permission_reviews),
        description="Recorded permission reviews, newest first (auditor, secadmin).",
        metadata=priced(cost=0),
    )
    permission_review_due: PermissionReviewDue = strawberry.field(
        resolver=returning(PermissionReviewDue.from_due, review.permission_review_due),
        description="The last permission review and whether the next is overdue.",
        metadata=priced(cost=0),  # the newest review by its primary key
    )
    exports: list[ExportRecord] = strawberry.field(
        resolver=returning(
            each(ExportRecord.from_row),
            export_resolvers.exports,
            newest=described("How many, newest first (at most 200)."),
        ),
        description="Files taken out of the archive: who took which, when (auditor).",
        metadata=priced(bound=export_resolvers.MAX_LISTED, cost=0),
    )
    # --- verification with partner departments (issue 15)
    verification_requests: VerificationRequestConnection = strawberry.field(
        resolver=returning(
            VerificationRequestConnection.from_page, verification.verification_requests
        ),
        description="Your department's verification requests in your region (partner).",
        # every clear ID number of a page is a lookup written to the audit entry: the
        # largest page's, one per member, priced whatever the selection
        metadata=priced(cost=QUEUE_PAGE * MEMBERS),
    )
    verification_activity: list[VerificationActivity] = strawberry.field(
        resolver=returning(
            each(VerificationActivity.from_activity),
            verification.verification_activity,
            county=described("County code (6 digits)"),
        ),
        description="Verification requests per department of a county (auditor, secadmin).",
        metadata=priced(bound=MAX_DEPARTMENTS, cost=SCAN),
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
        resolver=returning(Household.from_row, chain.reject_application),
        description=(
            "County refusal with coded reasons and the decision's text, from ACCEPTED to "
            "NOTICE (after the notice ended) (county reviewer)."
        ),
    )
    extend_deadline: Household = strawberry.field(
        resolver=returning(
            Household.from_row,
            chain.extend_deadline,
            reason=described("Why the case needs more time (复杂情况), kept in the history."),
        ),
        description=(
            "Extend a pending case's deadline from 30 to 45 working days, once, before the "
            "30 have run out (county reviewer)."
        ),
    )
    record_written_decision: Household = strawberry.field(
        resolver=returning(
            Household.from_row,
            chain.record_written_decision,
            reference=described("The written notice's document number (文号)."),
        ),
        description=(
            "The written notice of a refusal or a termination (书面通知) was sent; due "
            "within 3 working days of the decision (county reviewer)."
        ),
    )
    return_for_correction: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.return_for_correction),
        description="Ask for missing materials (补正); the case waits (caseworker).",
    )
    resubmit_application: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.resubmit_application),
        description="Materials complete: SUBMITTED again, acceptance restarts (caseworker).",
    )
    withdraw_application: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.withdraw_application),
        description="The applicant withdraws before a decision (caseworker).",
    )
    dismiss_objection: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.dismiss_objection, objection_id=strawberry.ID),
        description="Dismiss an open objection with reasons; the notice goes on (county reviewer).",
    )
    uphold_objection: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.uphold_objection, objection_id=strawberry.ID),
        description=(
            "Uphold an objection: back to INVESTIGATED; township review and a new notice "
            "follow (caseworker, county reviewer)."
        ),
    )
    record_county_visit: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.record_county_visit),
        description="The county's own home visit, needed for relatives of staff (county reviewer).",
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
    propose_termination: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.propose_termination),
        description="Propose ending the cover, with a coded reason (caseworker).",
    )
    terminate_household: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.terminate_household),
        description="Terminate, with a coded reason; the archive is kept (county reviewer).",
    )
    complete_review: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.complete_review),
        description="Record a periodic re-check; the next is due one interval later (caseworker).",
    )
    end_gradual_exits: list[str] = strawberry.field(
        resolver=served(chain.end_gradual_exits),
        description="Terminate households whose gradual exit (渐退期) has ended (county).",
        metadata=priced(bound=MAX_PAGE),
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
        resolver=returning(
            Payment.from_row, payment_resolvers.record_disbursement, payment_id=strawberry.ID
        ),
        description="Record what the bank did with a PENDING payment (finance).",
    )
    request_export: ExportTicket = strawberry.field(
        resolver=returning(ExportTicket.from_row, export_resolvers.request_export),
        description=(
            "Write a file (payment roll, public list) and keep it for GET /exports/{id}; "
            "the policy decides who runs which kind, and the audit entry names the file."
        ),
    )
    import_bank_return: BankReturnResult = strawberry.field(
        resolver=returning(
            BankReturnResult.from_result,
            bank_return_resolvers.import_bank_return,
            batch_id=strawberry.ID,
            file=Upload,
        ),
        description=(
            "Record the bank's result file (回盘: 付款编号, 结果, 银行流水号, 失败原因) for "
            "a batch: every line or none (finance)."
        ),
    )
    draw_spot_check: SpotCheck = strawberry.field(
        resolver=returning(
            SpotCheck.from_drawn,
            spotcheck_resolvers.draw_spot_check,
            county_code=described("County code (6 digits)"),
            period=described("The month whose township reviews are drawn from, YYYY-MM."),
            share=described("The share drawn, 0.20 to 1.00 (default 0.25)."),
        ),
        description=(
            "Draw the county's spot check (抽查) of a month's township reviews, once, with a "
            "recorded seed; each drawn case needs a county home visit before approval "
            "(county reviewer)."
        ),
    )
    archive_due: list[str] = strawberry.field(
        resolver=served(workflow.archive_due),
        description="Archive every terminated or rejected household past the period (county).",
        metadata=priced(bound=MAX_PAGE),
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
        resolver=returning(PolicyChange.from_change, admin.grant_permission),
        description=(
            "Add a permission rule (secadmin); one that widens access is held as a "
            "proposal for a second secadmin."
        ),
    )
    revoke_permission: PolicyChange = strawberry.field(
        resolver=returning(PolicyChange.from_change, admin.revoke_permission),
        description=(
            "Remove a permission rule (secadmin); removing a deny that widens access is "
            "held as a proposal."
        ),
    )
    grant_role: PolicyChange = strawberry.field(
        resolver=returning(PolicyChange.from_change, admin.grant_role),
        description=(
            "Let a role inherit another (secadmin); held as a proposal when it widens access."
        ),
    )
    revoke_role: PolicyChange = strawberry.field(
        resolver=returning(PolicyChange.from_change, admin.revoke_role),
        description="Remove a role inheritance (secadmin).",
    )
    approve_policy_change: PolicyProposal = strawberry.field(
        resolver=returning(
            PolicyProposal.from_row, proposals.approve_policy_change, proposal_id=strawberry.ID
        ),
        description=(
            "Apply a proposed widening of access: a second secadmin, never its proposer "
            "(四眼原则); refused as stale when the policy changed what it widens."
        ),
    )
    reject_policy_change: PolicyProposal = strawberry.field(
        resolver=returning(
            PolicyProposal.from_row, proposals.reject_policy_change, proposal_id=strawberry.ID
        ),
        description="Refuse a proposed widening of access, with a note (a second secadmin).",
    )
    withdraw_policy_change: PolicyProposal = strawberry.field(
        resolver=returning(
            PolicyProposal.from_row, proposals.withdraw_policy_change, proposal_id=strawberry.ID
        ),
        description="Withdraw your own pending proposal (its proposer).",
    )
    verify_audit_chain: AuditVerificationRun = strawberry.field(
        resolver=returning(AuditVerificationRun.from_row, audit_resolvers.verify_audit_chain),
        description="Recompute the audit chain now and record the result (auditor).",
    )
    record_permission_review: PermissionReview = strawberry.field(
        resolver=returning(PermissionReview.from_row, review.record_permission_review),
        description="Record a permission review with a note; what the lists hold now is kept "
        "with it (auditor).",
    )
    revoke_credential: CredentialInfo = strawberry.field(
        resolver=returning(CredentialInfo.from_row, admin.revoke_credential, id=strawberry.ID),
        description="Revoke a credential at once (sysadmin).",
    )
    # --- verification with partner departments (issue 15)
    request_verification: list[HouseholdVerification] = strawberry.field(
        resolver=returning(
            each(HouseholdVerification.from_view), verification.request_verification
        ),
        description="Send the household to partner departments for verification (核对).",
        metadata=priced(bound=MAX_DEPARTMENTS),
    )
    answer_verification: VerificationRequest = strawberry.field(
        resolver=returning(
            VerificationRequest.from_queued,
            verification.answer_verification,
            request_id=strawberry.ID,
        ),
        description="Your department's findings, one per subject of the request (partner).",
    )
    answer_verifications: int = strawberry.field(
        resolver=served(verification.answer_verifications),
        description="Up to 500 answers at once, all or none; how many were recorded (partner).",
    )
    adopt_findings: Household = strawberry.field(
        resolver=returning(Household.from_row, chain.adopt_findings, request_id=strawberry.ID),
        description=(
            "Take a department's answer into the archive of a case not yet decided: a "
            "higher income found becomes the member's income, deposits and vehicles found "
            "become declared assets, so eligibility and asset limits weigh them (caseworker, "
            "county reviewer)."
        ),
    )
    acknowledge_alert: Alert = strawberry.field(
        resolver=returning(
            Alert.from_row,
            alert_resolvers.acknowledge_alert,
            id=strawberry.ID,
            note=described("What was found, and what was done (kept with the alert)."),
        ),
        description="Acknowledge a misuse alert with a note; itself audited (auditor).",
    )
    set_alert_threshold: PolicyChange = strawberry.field(
        resolver=returning(
            PolicyChange.from_change,
            alert_resolvers.set_alert_threshold,
            role=described("A role of this service, or `*` for every role not named."),
            threshold=described("The count in one hour that raises an alert; 0 switches it off."),
        ),
        description=(
            "Set a misuse rule's threshold for a role; audited (secadmin). A stricter one "
            "applies at once; a looser one (higher, or 0: off) is held as a proposal for a "
            "second secadmin (四眼原则)."
        ),
    )
    override_verification: HouseholdVerification = strawberry.field(
        resolver=returning(
            HouseholdVerification.from_view,
            verification.override_verification,
            request_id=strawberry.ID,
        ),
        description="Approve despite this request, with a recorded reason (county reviewer).",
    )
    # --- scanned documents (issue 16): a GraphQL multipart request (gateway/multipart.py)
    import_archives: ImportResult = strawberry.field(
        resolver=returning(
            ImportResult.from_report,
            import_resolvers.import_upload,
            file=Upload,
            dry_run=described("Check every row and report, writing nothing."),
        ),
        description=(
            "Import a paper-era register (.xlsx or .csv, UTF-8 or GB18030, the template's "
            "columns) into your region, household by household (county reviewer)."
        ),
    )
    attach_document: Document = strawberry.field(
        resolver=returning(
            Document.from_row,
            document_resolvers.attach_document,
            archive_no=described("一户一号"),
            file=Upload,
            step=described("The review chain step it is filed at; else the case's stage."),
        ),
        description="File a scanned PDF, JPEG, PNG or TIFF (20 MB at most) in the archive.",
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

    @functools.cached_property
    def _objects(self) -> tuple[str, ...]:
        return tuple(
            f"{name}.{field}"
            for name, type_ in sorted(self._schema.type_map.items())
            if isinstance(type_, GraphQLObjectType) and not name.startswith("__")
            for field in type_.fields
        )

    def policy_objects(self) -> tuple[str, ...]:
        """Every Type.field the policy decides, for judging a change (policies/widening.py)."""
        return self._objects


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
