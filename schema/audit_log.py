"""The audit log as auditors read it: events, lookup alerts, activity, the chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import strawberry

from audit import fields as F
from audit.lookups import LookupTally
from domain.bounds import MEMBERS
from domain.verification import QUEUE_PAGE
from policies.bounds import PAGE
from resolvers.pages import Page
from schema.connections import PageInfo, page_info
from schema.pricing import priced
from store.models import AuditEntry, AuditVerification

# the most lookups one entry holds: a queue page's members, or the alias limit's calls
LOOKUPS_PER_ENTRY = max(50, QUEUE_PAGE * MEMBERS)


@strawberry.type(description="One field an operation touched, and the policy's decision.")
class FieldDecision:
    field: str
    decision: str


@strawberry.type(description="A person looked up or claimed by ID number, by blind index.")
class LookupRecord:
    kind: str = strawberry.field(
        description="verify (verifyRecipient), claim (application or joining member), "
        "verification (a clear ID number in a partner's verification queue) or "
        "search (auditEvents by ID number)"
    )
    blind_index: str = strawberry.field(description="HMAC of the ID number, never the number")
    found: bool = strawberry.field(
        description="verify: a record matched; claim: already held; search: an entry matched"
    )
    county: str | None = strawberry.field(description="claim conflicts: the claiming county")
    probe: bool = strawberry.field(
        description="claim: checked free in a request that did not commit (counted as a miss)"
    )

    @classmethod
    def from_entry(cls, item: dict[str, Any]) -> LookupRecord:
        return cls(
            kind=item[F.LOOKUP_KIND],
            blind_index=item[F.LOOKUP_BLIND_INDEX],
            found=item[F.LOOKUP_FOUND],
            county=item.get(F.LOOKUP_COUNTY),
            probe=bool(item.get(F.LOOKUP_PROBE)),
        )


@strawberry.type(description="One audited request.")
class AuditEvent:
    seq: int
    time: dt.datetime
    principal: str | None
    role: str | None
    scope: str | None
    credential_id: str | None
    client: str | None
    operation_type: str | None
    operation_name: str | None
    document_hash: str | None
    variables: str | None = strawberry.field(description="JSON, personal values redacted.")
    # one entry names at most the fields of the schema and the archives of one request
    fields: list[FieldDecision] = strawberry.field(metadata=priced(bound=600))
    archive_nos: list[str] = strawberry.field(metadata=priced(bound=500))
    outcome: str
    error_codes: list[str] = strawberry.field(metadata=priced(bound=20))
    duration_ms: float
    trace_id: str | None
    # lookups of one request: its aliased verifyRecipient calls (under the alias limit),
    # the members of one application (capped on submission), or the members of each
    # request on one page of a partner's verification queue (the largest of these)
    lookups: list[LookupRecord] = strawberry.field(metadata=priced(bound=LOOKUPS_PER_ENTRY))

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditEvent:
        entry: dict[str, Any] = orjson.loads(row.entry)
        return cls(
            seq=row.seq,
            time=row.time,
            principal=entry["principal"],
            role=entry["role"],
            scope=entry["scope"],
            credential_id=entry["credential_id"],
            client=entry["client"],
            operation_type=entry["operation_type"],
            operation_name=entry["operation_name"],
            document_hash=entry["document_hash"],
            variables=orjson.dumps(entry["variables"]).decode()
            if entry["variables"] is not None
            else None,
            fields=[FieldDecision(field=k, decision=v) for k, v in entry["fields"].items()],
            archive_nos=entry["archive_nos"],
            outcome=entry["outcome"],
            error_codes=entry["error_codes"],
            duration_ms=entry["duration_ms"],
            trace_id=entry["trace_id"],
            lookups=[LookupRecord.from_entry(i) for i in entry.get(F.LOOKUPS) or ()],
        )


@strawberry.type
class AuditEventEdge:
    node: AuditEvent
    cursor: str


@strawberry.type(description="A page of audit events, newest first (Relay connection).")
class AuditEventConnection:
    edges: list[AuditEventEdge] = strawberry.field(metadata=priced(bound=PAGE))
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[AuditEntry]) -> AuditEventConnection:
        return cls(
            edges=[AuditEventEdge(node=AuditEvent.from_row(r), cursor=c) for r, c in page.rows],
            page_info=page_info(page.cursors, has_next=page.has_next, after=page.after),
        )


@strawberry.type(
    description="A credential's lookups by ID number in a window: a run of verification "
    "misses or claim conflicts at or above the threshold is what an enumeration looks like."
)
class LookupAlert:
    principal: str | None
    role: str | None
    credential_id: str | None
    lookups: int
    misses: int
    conflicts: int
    first_at: dt.datetime
    last_at: dt.datetime

    @classmethod
    def from_tally(cls, t: LookupTally) -> LookupAlert:
        return cls(
            principal=t.principal,
            role=t.role,
            credential_id=t.credential_id,
            lookups=t.lookups,
            misses=t.misses,
            conflicts=t.conflicts,
            first_at=t.first_at,
            last_at=t.last_at,
        )


@strawberry.type(
    description="Refused or failed requests in one time bucket for one principal or role."
)
class ActivityBucket:
    start: dt.datetime
    key: str
    count: int

    @classmethod
    def from_row(cls, row: tuple[dt.datetime, str, int]) -> ActivityBucket:
        start, key, count = row
        return cls(start=start, key=key, count=count)


@strawberry.type(description="One run of the audit chain verification.")
class AuditVerificationRun:
    at: dt.datetime
    ok: bool
    entries: int
    first_bad: int | None
    reason: str | None
    by: str

    @classmethod
    def from_row(cls, row: AuditVerification) -> AuditVerificationRun:
        return cls(
            at=row.at,
            ok=row.ok,
            entries=row.entries,
            first_bad=row.first_bad,
            reason=row.reason,
            by=row.verified_by,
        )


@strawberry.type(description="The audit chain: its size, its head, and the last verification.")
class AuditChainStatus:
    entries: int
    head_seq: int
    last_verification: AuditVerificationRun | None

    @classmethod
    def from_status(cls, status: tuple[int, int, AuditVerification | None]) -> AuditChainStatus:
        entries, head_seq, last = status
        return cls(
            entries=entries,
            head_seq=head_seq,
            last_verification=AuditVerificationRun.from_row(last) if last is not None else None,
        )
