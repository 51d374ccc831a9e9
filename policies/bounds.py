"""How many items each list field of the schema can return: the cost model's table.

A connection's edges are as many as its `first` (PAGE); every other list has a
declared bound here. tests/authz/test_limits.py enumerates the schema's list
fields and fails on one missing from this table, so a new list cannot be
priced by a guess.
"""

from __future__ import annotations

from typing import Final, Literal

from domain import bounds, verification

PAGE: Final = "page"  # sized by the enclosing connection's `first`
Bound = int | Literal["page"]

MAX_PAGE: Final = bounds.MAX_PAGE  # the largest `first` any connection accepts

LIST_BOUNDS: Final[dict[str, Bound]] = {
    # connections
    "HouseholdConnection.edges": PAGE,
    "AuditEventConnection.edges": PAGE,
    "DuplicateCandidateConnection.edges": PAGE,
    "VerificationRequestConnection.edges": PAGE,
    # a household's own records: the store reads no more than these (domain/bounds.py)
    "Household.members": bounds.MEMBERS,
    "Household.categories": 4,
    "Household.reviews": bounds.REVIEWS,
    "Household.objections": bounds.OBJECTIONS,
    "Household.benefitHistory": bounds.BENEFIT_HISTORY,
    "Household.changes": bounds.CHANGES,
    "Household.stageDays": 20,
    "Household.payments": bounds.PAYMENTS,
    "Household.assets": bounds.ASSETS,
    "Member.categories": 4,
    # verification (issue 15): requests per household, subjects per request (its
    # members), and at most three contradictions per member plus three of assets
    "Household.verifications": verification.MAX_PER_HOUSEHOLD,
    "HouseholdVerification.findings": bounds.MEMBERS,
    "HouseholdVerification.discrepancies": bounds.MEMBERS * 3 + 3,
    "VerificationRequest.subjects": bounds.MEMBERS,
    "Mutation.requestVerification": verification.MAX_DEPARTMENTS,
    # small enumerations: tracks x statuses, categories, payment statuses
    "Statistics.byStatus": 40,
    "Statistics.byCategory": 4,
    "Statistics.payments": 10,
    "PaymentBatchSummary.byStatus": 3,
    # audit records: one entry names at most the fields of the schema and the
    # archives of one request
    "AuditEvent.fields": 300,
    "AuditEvent.archiveNos": 500,
    "AuditEvent.errorCodes": 20,
    # lookups of one request: its aliased verifyRecipient calls (under the alias
    # limit) or the members of one application (capped on submission)
    "AuditEvent.lookups": 50,
    "CredentialInfo.fields": 500,
    "DuplicateCandidate.archiveNos": bounds.DUPLICATE_ARCHIVES,
    # root lists that stay lists: naturally bounded by their arguments or by
    # administration (one county's standards; one county's batches; the policy)
    "Query.standards": 100,
    "Query.paymentBatches": 500,
    "Query.policyRules": 5000,
    "Query.credentials": 5000,
    "Query.auditActivity": 5000,
    "Query.lookupAlerts": 5000,  # one row per credential over the threshold
    "Mutation.archiveDue": MAX_PAGE,
}

# What one call of a field costs, beyond the 1 every field costs: the fields that
# aggregate over a whole scope (a region's households, the audit log) rather than
# read rows by key or by page. Each is priced above half the cost limit
# (policies/limits.py, Limits.max_cost = 100,000), so one document holds at
# most one of them: fifteen aliases of `statistics` are refused before a scan
# runs, whatever their speed. tests/authz/test_limits.py requires every root
# field and every `totalCount` to be classified here (0: reads by key or by
# page, priced by its list bounds above), so a new aggregate cannot slip in at 1.
SCAN: Final = 60_000
FIELD_COSTS: Final[dict[str, int]] = {
    # aggregates over a scope: at most one per document
    "Query.statistics": SCAN,  # group-by over every household of the scope
    "Query.auditActivity": SCAN,  # buckets over up to 93 days of the audit log
    "Query.lookupAlerts": SCAN,  # misses and conflicts over up to 93 days of the log
    "Query.auditChain": SCAN,  # counts every audit entry
    "DuplicateCandidateConnection.totalCount": SCAN,  # groups the blind index nationwide
    # one county's payments grouped by batch: a few per document
    "Query.paymentBatches": 20_000,
    # a count over the scope by index: cheaper, still not free
    "HouseholdConnection.totalCount": 1_000,
    # reads by key, by page, or of small administrative tables
    "Query.household": 0,
    "Query.households": 0,
    "Query.verifyRecipient": 0,
    "Query.policyRules": 0,
    "Query.dueForReview": 0,
    "Query.duplicateCandidates": 0,
    "Query.overdue": 0,
    "Query.standards": 0,
    "Query.auditEvents": 0,
    "Query.credentials": 0,
    "Query.verificationRequests": 0,
}
