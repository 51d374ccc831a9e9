"""Every argument and input field of the public schema, with its bounds and its
audit decision, in one table.

The gateway enforces the bounds on literals and variables before anything runs
(`gateway/inputs.py`), and keeps a value in the audit entry only where its row
says `plain`. A test holds that every argument and input field has a row, and
that every String has a length and every list a count: a new argument has no
bound and is redacted until someone writes its row here.

Keys are GraphQL schema coordinates: `Type.field(argument:)` for arguments,
`InputType.field` for input fields, `@directive(argument:)` for directives.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from domain.archive import ARCHIVE_NO_RE
from domain.workflow import Step


@dataclass(frozen=True, slots=True)
class Bound:
    max_length: int | None = None  # characters, for String and ID
    max_items: int | None = None  # elements, for lists
    plain: bool = False  # not personal and not free text: the audit entry may keep it
    # for a plain string declared by its place: the value is kept only when it has the
    # place's format (a code is digits, a cursor is one of ours), else `[redacted]`.
    # Being in a plain place is not enough: any text can be sent there.
    well_formed: Callable[[str], bool] | None = None


_CODE_RE = re.compile(r"\A(\*|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{4}-[0-9]{2})\Z")
_BASE64_RE = re.compile(r"\A[A-Za-z0-9_\-+/]{4,200}={0,2}\Z")
_ARCHIVE = ARCHIVE_NO_RE.pattern.removeprefix("\\A").removesuffix("\\Z")
# what this API's cursors decode to (store/households.py, store/duplicates.py,
# resolvers/audit_events.py, resolvers/review.py); an audit sequence or a review id of
# 16 digits or more is not kept
_CURSOR_RE = re.compile(
    rf"\A(h:{_ARCHIVE}|d:{_ARCHIVE}:[0-9]{{1,9}}|[ar]:[0-9]{{1,15}}|v:[0-9a-f]{{32}})\Z"
)


def is_code(value: str) -> bool:
    """A region, county or village code (ASCII digits of a level's length), a period
    (YYYY-MM), or `*`."""
    return _CODE_RE.match(value) is not None


def is_archive_no(value: str) -> bool:
    return ARCHIVE_NO_RE.match(value) is not None


def is_cursor(value: str) -> bool:
    """The base64 alphabet and length, and inside it a cursor this API hands out."""
    if _BASE64_RE.match(value) is None:
        return False
    try:
        raw = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw.isascii() and _CURSOR_RE.match(raw.decode("ascii")) is not None


# fallbacks for a coordinate without a row: bounded all the same, never kept
DEFAULT = Bound(max_length=200, max_items=100)

# dates and times outside these years are typing mistakes or probes, never records
MIN_YEAR = 1900
MAX_YEAR = 2199

CODE = Bound(max_length=32, plain=True, well_formed=is_code)  # region codes, periods
ARCHIVE_NO = Bound(max_length=32, plain=True, well_formed=is_archive_no)
CURSOR = Bound(max_length=200, plain=True, well_formed=is_cursor)
PLAIN = Bound(plain=True)  # enums, numbers, dates, booleans that say nothing of a person
PERSONAL = Bound()  # numbers and flags that describe a person: never kept
REASON = Bound(max_length=2000)  # free text written by staff: may name anyone
NAME = Bound(max_length=100, plain=True)  # account, role and policy names (not persons)

_REASONED = (
    "acceptApplication",
    "approveApplication",
    "suspendHousehold",
    "resumeHousehold",
    "withdrawApplication",
)
# steps on one archive whose free text is `text`, `reasons` or `findings`
_ARCHIVE_STEPS = (
    "rejectApplication",
    "returnForCorrection",
    "resubmitApplication",
    "dismissObjection",
    "upholdObjection",
    "recordCountyVisit",
    "proposeTermination",
    "terminateHousehold",
    "completeReview",
    "extendDeadline",
    "recordWrittenDecision",
)
_STEPS = frozenset(s.value for s in Step)
_ROW_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")


def is_row_id(value: str) -> bool:
    """An id of a member or objection as this API hands them out."""
    return _ROW_ID_RE.match(value) is not None


ROW_ID = Bound(max_length=32, plain=True, well_formed=is_row_id)


def is_step(value: str) -> bool:
    """A step of the review chain's (a document's `step`), nothing typed freely."""
    return value in _STEPS


INPUT_BOUNDS: dict[str, Bound] = {
    # reads
    "Query.household(archiveNo:)": ARCHIVE_NO,
    "Query.households(region:)": CODE,
    "Query.households(status:)": Bound(max_items=20, plain=True),
    "Query.households(category:)": PLAIN,
    "Query.households(area:)": PLAIN,
    "Query.households(marginal:)": PLAIN,
    # an old archive number: a county's own label for a household, not a person's value
    "Query.households(legacyArchiveNo:)": Bound(max_length=40, plain=True),
    "Query.households(first:)": PLAIN,
    "Query.households(after:)": CURSOR,
    "Query.dueForReview(first:)": PLAIN,
    "Query.dueForReview(after:)": CURSOR,
    "Query.overdue(first:)": PLAIN,
    "Query.overdue(after:)": CURSOR,
    "Query.duplicateCandidates(first:)": PLAIN,
    "Query.duplicateCandidates(after:)": CURSOR,
    "Query.verifyRecipient(idNumber:)": Bound(max_length=32),
    "Query.dueForReview(before:)": PLAIN,
    "Query.dueForReview(region:)": CODE,
    "Query.paymentBatches(countyCode:)": CODE,
    "Query.paymentBatches(period:)": CODE,
    "Query.duplicateCandidates(region:)": CODE,
    "Query.overdue(stage:)": PLAIN,
    "Query.overdue(verification:)": PLAIN,
    "Query.overdue(region:)": CODE,
    "Query.statistics(period:)": CODE,
    "Query.statistics(region:)": CODE,
    "Query.standards(countyCode:)": CODE,
    "Query.auditEvents(principal:)": NAME,
    "Query.auditEvents(role:)": NAME,
    "Query.auditEvents(archiveNo:)": ARCHIVE_NO,
    "Query.auditEvents(outcome:)": NAME,
    "Query.auditEvents(since:)": PLAIN,
    "Query.auditEvents(until:)": PLAIN,
    "Query.auditEvents(first:)": PLAIN,
    "Query.auditEvents(after:)": CURSOR,
    # an auditor asking who looked up a person types that person's ID number: never kept
    "Query.auditEvents(lookedUpIdNumber:)": Bound(max_length=32),
    "Query.lookupAlerts(since:)": PLAIN,
    "Query.lookupAlerts(until:)": PLAIN,
    "Query.lookupAlerts(threshold:)": PLAIN,
    "Query.auditActivity(since:)": PLAIN,
    "Query.auditActivity(until:)": PLAIN,
    "Query.auditActivity(bucket:)": PLAIN,
    "Query.auditActivity(by:)": PLAIN,
    # the review chain
    "Mutation.submitApplication(input:)": PLAIN,  # an input object: its fields decide
    **{f"Mutation.{m}(archiveNo:)": ARCHIVE_NO for m in _REASONED},
    **{f"Mutation.{m}(reason:)": REASON for m in _REASONED},
    **{f"Mutation.{m}(archiveNo:)": ARCHIVE_NO for m in _ARCHIVE_STEPS},
    "Mutation.rejectApplication(reasons:)": Bound(max_items=6, plain=True),  # enums
    "Mutation.rejectApplication(text:)": REASON,
    # the materials asked for are free text: they may name a person
    "Mutation.returnForCorrection(missing:)": Bound(max_length=200, max_items=20),
    "Mutation.dismissObjection(objectionId:)": ROW_ID,
    "Mutation.dismissObjection(reasons:)": REASON,
    "Mutation.upholdObjection(objectionId:)": ROW_ID,
    "Mutation.upholdObjection(reasons:)": REASON,
    "Mutation.recordCountyVisit(findings:)": Bound(max_length=4000),
    "Mutation.extendDeadline(reason:)": REASON,
    # a document number (文号), but free text all the same: it could carry a name, so it
    # is kept in the review row, not in the audit entry's variables
    "Mutation.recordWrittenDecision(reference:)": Bound(max_length=100),
    "Mutation.proposeTermination(reason:)": PLAIN,
    "Mutation.proposeTermination(text:)": REASON,
    "Mutation.terminateHousehold(reason:)": PLAIN,
    "Mutation.terminateHousehold(text:)": REASON,
    "Mutation.completeReview(outcome:)": PLAIN,
    "Mutation.completeReview(findings:)": Bound(max_length=4000),
    "Mutation.completeReview(incomes:)": Bound(max_items=30, plain=True),  # fields decide
    "Mutation.completeReview(terminationReason:)": PLAIN,
    "Mutation.endGradualExits(region:)": CODE,
    "MemberIncomeInput.memberId": ROW_ID,
    "MemberIncomeInput.monthlyIncome": PERSONAL,
    "Mutation.recordInvestigation(archiveNo:)": ARCHIVE_NO,
    "Mutation.recordInvestigation(investigation:)": PLAIN,
    "Mutation.reviewInTownship(archiveNo:)": ARCHIVE_NO,
    "Mutation.reviewInTownship(opinion:)": REASON,
    "Mutation.publishNotice(archiveNo:)": ARCHIVE_NO,
    "Mutation.recordObjection(archiveNo:)": ARCHIVE_NO,
    "Mutation.recordObjection(text:)": REASON,
    "Mutation.activateHousehold(archiveNo:)": ARCHIVE_NO,
    "Mutation.archiveHousehold(archiveNo:)": ARCHIVE_NO,
    "Mutation.archiveDue(region:)": CODE,
    "Mutation.reportChange(archiveNo:)": ARCHIVE_NO,
    "Mutation.reportChange(change:)": PLAIN,
    # payments and standards
    "Mutation.generatePayments(countyCode:)": CODE,
    "Mutation.generatePayments(period:)": CODE,
    "Mutation.recordDisbursement(paymentId:)": Bound(max_length=64, plain=True),
    "Mutation.recordDisbursement(outcome:)": PLAIN,
    "Mutation.recordDisbursement(bankReference:)": Bound(max_length=100),
    "Mutation.recordDisbursement(failureReason:)": Bound(max_length=500),
    "Mutation.setStandard(countyCode:)": CODE,
    "Mutation.setStandard(area:)": PLAIN,
    "Mutation.setStandard(monthlyAmount:)": PLAIN,  # a county's standard, not a person's
    "Mutation.setStandard(effectiveFrom:)": PLAIN,
    # administration (policy and credentials, never personal data)
    "Mutation.grantPermission(input:)": PLAIN,
    "Mutation.revokePermission(input:)": PLAIN,
    "Mutation.grantRole(member:)": NAME,
    "Mutation.grantRole(role:)": NAME,
    "Mutation.revokeRole(member:)": NAME,
    "Mutation.revokeRole(role:)": NAME,
    "Mutation.revokeCredential(id:)": Bound(max_length=64, plain=True),
    # four eyes on widening: the proposal's id is kept, a decider's note is free text
    "Query.policyProposals(status:)": PLAIN,
    "Mutation.approvePolicyChange(proposalId:)": ROW_ID,
    "Mutation.approvePolicyChange(note:)": REASON,
    "Mutation.rejectPolicyChange(proposalId:)": ROW_ID,
    "Mutation.rejectPolicyChange(note:)": REASON,
    "Mutation.withdrawPolicyChange(proposalId:)": ROW_ID,
    "Mutation.withdrawPolicyChange(note:)": REASON,
    # permission review (issue 17): the note is free text, never kept in the audit entry
    "Query.permissionReview(unusedDays:)": PLAIN,
    "Query.permissionReviews(first:)": PLAIN,
    "Query.permissionReviews(after:)": CURSOR,
    "Mutation.recordPermissionReview(note:)": REASON,
    "PermissionInput.subject": NAME,
    "PermissionInput.object": NAME,
    "PermissionInput.action": NAME,
    "PermissionInput.scope": CODE,
    "PermissionInput.effect": NAME,
    # an application and its members
    "ApplicationInput.villageCode": CODE,
    "ApplicationInput.members": Bound(max_items=20, plain=True),
    "ApplicationInput.address": Bound(max_length=200),
    "ApplicationInput.bankAccount": Bound(max_length=40),
    "ApplicationInput.bankName": Bound(max_length=100),
    "ApplicationInput.assets": Bound(max_items=20, plain=True),
    "AssetInput.kind": PLAIN,
    "AssetInput.value": PERSONAL,
    "AssetInput.description": Bound(max_length=200),
    "MemberInput.name": Bound(max_length=60),
    "MemberInput.idNumber": Bound(max_length=32),
    "MemberInput.relation": PLAIN,
    "MemberInput.monthlyIncome": PERSONAL,
    "MemberInput.phone": Bound(max_length=32),
    "MemberInput.disabilityGrade": PERSONAL,
    "MemberInput.disabilityKind": PERSONAL,
    "MemberInput.covered": PERSONAL,
    "MemberInput.seriousIllness": PERSONAL,
    "MemberInput.student": PERSONAL,
    "MemberInput.staffRelative": PERSONAL,
    # the home visit and change reports
    "InvestigationInput.visitedOn": PLAIN,
    "InvestigationInput.visitors": Bound(max_length=60, max_items=10),
    "InvestigationInput.findings": Bound(max_length=4000),
    "InvestigationInput.photoRefs": Bound(max_length=200, max_items=20),
    "ChangeInput.kind": PLAIN,
    "ChangeInput.reason": REASON,
    "ChangeInput.memberId": ROW_ID,
    "ChangeInput.monthlyIncome": PERSONAL,
    "ChangeInput.newMember": PLAIN,
    "ChangeInput.address": Bound(max_length=200),
    # verification with partner departments (issue 15): ids are ours, reasons and the
    # consent reference are free text, every finding describes a person
    "Query.verificationRequests(status:)": PLAIN,
    "Query.verificationRequests(first:)": PLAIN,
    "Query.verificationRequests(after:)": CURSOR,
    "Query.verificationActivity(county:)": CODE,
    "Mutation.requestVerification(archiveNo:)": ARCHIVE_NO,
    "Mutation.requestVerification(departments:)": Bound(max_items=7, plain=True),
    "Mutation.requestVerification(consentDocument:)": Bound(max_length=200),
    "Mutation.answerVerification(requestId:)": ROW_ID,
    "Mutation.answerVerification(findings:)": Bound(max_items=30),
    "Mutation.answerVerifications(answers:)": Bound(max_items=500),
    "Mutation.overrideVerification(requestId:)": ROW_ID,
    "Mutation.adoptFindings(requestId:)": ROW_ID,
    "Query.alerts(status:)": PLAIN,
    "Query.alerts(newest:)": PLAIN,
    "Mutation.acknowledgeAlert(id:)": ROW_ID,
    "Mutation.acknowledgeAlert(note:)": REASON,
    "Mutation.setAlertThreshold(rule:)": PLAIN,
    "Mutation.setAlertThreshold(role:)": NAME,
    "Mutation.setAlertThreshold(threshold:)": PLAIN,
    "Mutation.overrideVerification(reason:)": REASON,
    # scanned documents (issue 16): the file is never kept (not even its name)
    "Mutation.attachDocument(archiveNo:)": ARCHIVE_NO,
    "Mutation.attachDocument(category:)": PLAIN,
    "Mutation.attachDocument(file:)": PERSONAL,
    "Mutation.importArchives(file:)": PERSONAL,
    "Mutation.importArchives(dryRun:)": PLAIN,
    "Mutation.attachDocument(step:)": Bound(max_length=30, plain=True, well_formed=is_step),
    "AnswerInput.requestId": Bound(max_length=32),
    "AnswerInput.findings": Bound(max_items=30),
    "FindingInput.subjectId": Bound(max_length=32),
    **{
        f"FindingInput.{name}": PERSONAL
        for name in (
            "monthlyWage",
            "monthlyPension",
            "deposits",
            "vehicleCount",
            "vehicleValue",
            "propertyCount",
            "propertyArea",
            "businessCount",
            "registrationMatches",
        )
    },
    # exports (issue 20): ids, codes and enums; the bank's file is never kept
    "Mutation.requestExport(kind:)": PLAIN,
    "Mutation.requestExport(params:)": PLAIN,  # an input object: its fields decide
    "ExportParams.batchId": ROW_ID,
    "ExportParams.region": CODE,
    "ExportParams.period": CODE,
    "ExportParams.periodEnd": CODE,
    "ExportParams.format": PLAIN,
    "Mutation.importBankReturn(batchId:)": ROW_ID,
    "Mutation.importBankReturn(file:)": PERSONAL,
    "Query.exports(newest:)": PLAIN,
    "Mutation.drawSpotCheck(countyCode:)": CODE,
    "Mutation.drawSpotCheck(period:)": CODE,
    "Mutation.drawSpotCheck(share:)": PLAIN,
    # executable directives
    "@include(if:)": PLAIN,
    "@skip(if:)": PLAIN,
}


def bound_of(coordinate: str) -> Bound:
    return INPUT_BOUNDS.get(coordinate, DEFAULT)
