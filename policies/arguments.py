"""Arguments that filter by a field are decided like the field they filter.

`households(category: DISABLED)` answers, through `totalCount` and the page, what
`Household.categories` would: a caller that may not read that field in clear may not
filter by it either. Every argument of the schema is in exactly one of the two
tables below (tests/authz/test_filter_arguments.py enumerates them), so a new
filter argument cannot go undecided.
"""

from __future__ import annotations

# (entry point, argument) -> the field the argument filters by
FIELD_FILTERS: dict[tuple[str, str], str] = {
    ("Query.households", "region"): "Household.regionCode",
    ("Query.households", "status"): "Household.status",
    ("Query.households", "category"): "Household.categories",
    ("Query.households", "area"): "Household.area",
    ("Query.households", "marginal"): "Household.marginal",
    ("Query.households", "legacyArchiveNo"): "Household.legacyArchiveNo",
    ("Query.dueForReview", "region"): "Household.regionCode",
    ("Query.overdue", "region"): "Household.regionCode",
    ("Query.overdue", "stage"): "Household.status",
    # whether a department's answer is late says something of Household.verifications
    ("Query.overdue", "verification"): "Household.verifications",
    ("Query.duplicateCandidates", "region"): "Household.regionCode",
    ("Query.statistics", "region"): "Household.regionCode",
    ("Query.verificationRequests", "status"): "VerificationRequest.status",
    ("Query.policyProposals", "status"): "PolicyProposal.status",
}

_PAGING = ("first", "after")
_AUDIT = ("principal", "role", "archiveNo", "outcome", "since", "until", "lookedUpIdNumber")

# arguments that select or page, name the record asked about, or feed a write (decided
# by the write permission itself): not a filter by a readable field
NOT_FIELD_FILTERS: frozenset[tuple[str, str]] = frozenset(
    {
        *(("Query.households", a) for a in _PAGING),
        *(("Query.dueForReview", a) for a in _PAGING),
        *(("Query.overdue", a) for a in _PAGING),
        *(("Query.duplicateCandidates", a) for a in _PAGING),
        *(("Query.verificationRequests", a) for a in _PAGING),
        ("Query.household", "archiveNo"),  # the record asked for, not a filter over many
        ("Query.verifyRecipient", "idNumber"),  # the question itself: counted and audited
        ("Query.dueForReview", "before"),  # the review date is the entry point's own subject
        ("Query.paymentBatches", "countyCode"),
        ("Query.paymentBatches", "period"),
        ("Query.statistics", "period"),
        ("Query.standards", "countyCode"),
        ("Query.verificationActivity", "county"),  # counts of requests, no archive field
        ("Query.exports", "newest"),  # how many of the register's newest exports
        *(("Query.alerts", a) for a in ("status", "newest")),  # the alerts' own state
        # the auditor's own filters over the audit log, not over archive fields
        *(("Query.auditEvents", a) for a in (*_AUDIT, *_PAGING)),
        *(("Query.auditActivity", a) for a in ("since", "until", "bucket", "by")),
        *(("Query.lookupAlerts", a) for a in ("since", "until", "threshold")),
        # the permission review's own threshold and its page of recorded reviews
        ("Query.permissionReview", "unusedDays"),
        *(("Query.permissionReviews", a) for a in _PAGING),
    }
)
WRITE_ROOT = "Mutation."  # every mutation argument is input to a write, not a read filter


def filtered_field(obj: str, argument: str) -> str | None:
    """The field an argument of `obj` filters by, or None when it filters by none."""
    return FIELD_FILTERS.get((obj, argument))
