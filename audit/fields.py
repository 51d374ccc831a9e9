"""Names of audit entry fields and span attributes, in one place (what reviewers grep for)."""

from __future__ import annotations

# audit entry fields
TIME = "time"
PRINCIPAL = "principal"
ROLE = "role"
SCOPE = "scope"
CREDENTIAL_ID = "credential_id"
CLIENT = "client"
OPERATION_TYPE = "operation_type"
OPERATION_NAME = "operation_name"
DOCUMENT_HASH = "document_hash"
VARIABLES = "variables"
FIELDS = "fields"
ARCHIVE_NOS = "archive_nos"
OUTCOME = "outcome"
ERROR_CODES = "error_codes"
DURATION_MS = "duration_ms"
TRACE_ID = "trace_id"
HTTP_STATUS = "http_status"
# in a summary entry only: requests from one address refused over its limit and not
# recorded one by one since the previous summary
REFUSED_COUNT = "refused_count"
SEQ = "seq"
# people looked up by ID number: [{kind, blind_index, found[, county]}], never the ID
LOOKUPS = "lookups"
LOOKUP_KIND = "kind"
LOOKUP_BLIND_INDEX = "blind_index"  # hex HMAC under the current index key
LOOKUP_FOUND = "found"
LOOKUP_COUNTY = "county"  # for a claim conflict: the county of the claiming household
LOOKUP_VERIFY = "verify"  # verifyRecipient
LOOKUP_CLAIM = "claim"  # an application claiming the ID number (found: already claimed)
LOOKUP_VERIFICATION = "verification"  # a clear ID number in a partner's verification queue
LOOKUP_SEARCH = "search"  # auditEvents(lookedUpIdNumber:) (found: some entry matched)
# a claim checked in a request that did not commit: the caller learned "not claimed"
# and kept nothing, which is what a probe looks like (counted as a miss)
LOOKUP_PROBE = "probe"
# a file taken out (requestExport, GET /exports/{id}, `dibao export`): id, kind, params,
# rows, total, sha256, size; never a value from the file
EXPORT = "export"
KEY_VERSION = "key_version"  # the audit key version the entry is hashed with

# outcomes
ALLOWED = "allowed"
MASKED = "masked"
DENIED = "denied"
INVALID = "invalid"
TOO_COMPLEX = "too_complex"
RATE_LIMITED = "rate_limited"  # over the credential's request rate (429)
UNAUTHENTICATED = "unauthenticated"
FAILED = "failed"
REFUSED = "refused"  # well-formed and permitted, but the domain said no (CONFLICT, NOT_FOUND)

# span names and attributes (no personal data ever goes into these); a GraphQL request's
# own attributes and the policy walk's go on its SERVER span (gateway/tracing.py)
SPAN_AUDIT = "dibao.audit.append"
SPAN_DOWNLOAD = "dibao.document.download"
OPERATION_DOWNLOAD = "download"  # GET /documents/{id}: a document's bytes
SPAN_EXPORT_DOWNLOAD = "dibao.export.download"
OPERATION_EXPORT_DOWNLOAD = "export_download"  # GET /exports/{id}: an export's file
ATTR_ROLE = "dibao.role"
ATTR_DECISIONS = "dibao.policy.decisions"
ATTR_DENIED = "dibao.policy.denied"
ATTR_MASKED = "dibao.policy.masked"
ATTR_OPERATION_TYPE = "graphql.operation.type"
ATTR_OPERATION_NAME = "graphql.operation.name"
ATTR_OUTCOME = "dibao.outcome"
ATTR_AUDIT_SEQ = "dibao.audit.seq"
