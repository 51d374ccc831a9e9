"""`auditEvents`: security officers review who accessed what, when, and what was refused."""

from __future__ import annotations

import base64
import datetime as dt
import enum
from typing import Annotated, Any

import orjson
import strawberry

from audit import fields as F
from audit.chain import verify
from audit.lookups import lookup, lookup_tallies, search_key
from audit.queries import AuditFilter, chain_status, page_entries, refused_activity
from domain.archive import parse_archive_no
from domain.bounds import DEFAULT_PAGE, page_size
from domain.errors import InvalidInput
from domain.idnumber import normalize_id_number, parse_id_number
from resolvers.context import Info
from schema.types import PageInfo, page_info
from store.models import AuditEntry, AuditVerification


@strawberry.type(description="One field an operation touched, and the policy's decision.")
class FieldDecision:
    field: str
    decision: str


@strawberry.type(description="A person looked up or claimed by ID number, by blind index.")
class LookupRecord:
    kind: str = strawberry.field(
        description="verify (verifyRecipient), claim (application or joining member) or "
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
    fields: list[FieldDecision]
    archive_nos: list[str]
    outcome: str
    error_codes: list[str]
    duration_ms: float
    trace_id: str | None
    lookups: list[LookupRecord]

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
    edges: list[AuditEventEdge]
    page_info: PageInfo


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"a:{seq}".encode()).decode()


def _after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode(
            "ascii"
        )
        digits = raw.removeprefix("a:")
        if (
            raw.startswith("a:")
            and digits.isascii()
            and digits.isdigit()
            and 0 < (seq := int(digits)) < 2**62
        ):
            return seq
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput("after: not a cursor from this API", field="after")


def _check_times(since: dt.datetime | None, until: dt.datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is None:
            continue
        if value.tzinfo is None:
            raise InvalidInput(
                f"{name}: give a time zone, e.g. 2026-11-01T00:00:00+08:00", field=name
            )
        if not 1990 <= value.year <= 2999 or not 1990 <= value.astimezone(dt.UTC).year <= 2999:
            raise InvalidInput(f"{name}: a time between 1990 and 2999", field=name)


async def audit_events(
    info: Info,
    principal: str | None = None,
    role: str | None = None,
    archive_no: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
    looked_up_id_number: Annotated[
        str | None,
        strawberry.argument(
            description="Entries that looked up or claimed this person (matched by blind "
            "index; the number itself is never recorded, here or in this request's entry)."
        ),
    ] = None,
) -> AuditEventConnection:
    size = page_size(first)
    if archive_no is not None:
        parse_archive_no(archive_no)
    _check_times(since, until)
    flt = AuditFilter(
        principal=principal,
        role=role,
        archive_no=archive_no,
        outcome=outcome,
        since=since,
        until=until,
        lookup_keys=_lookup_keys(info, looked_up_id_number),
    )
    async with info.context.reading() as session:
        rows, has_next = await page_entries(session, flt=flt, first=size, after_seq=_after(after))
    if looked_up_id_number is not None:
        # a search by ID number is itself an answer about a person (charged by the gate
        # against the lookup quota): recorded like one, by blind index
        number = parse_id_number(normalize_id_number(looked_up_id_number)).number
        index = info.context.cipher.blind_index(number)
        info.context.lookups.append(lookup(F.LOOKUP_SEARCH, index, found=bool(rows)))
    edges = [AuditEventEdge(node=AuditEvent.from_row(r), cursor=_cursor(r.seq)) for r in rows]
    return AuditEventConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], has_next=has_next, after=after),
    )


def _lookup_keys(info: Info, id_number: str | None) -> tuple[str, ...] | None:
    if id_number is None:
        return None
    number = parse_id_number(normalize_id_number(id_number), field="lookedUpIdNumber").number
    # every index key version: entries from before a rotation are found too
    return tuple(search_key(ix.hex()) for ix in info.context.cipher.blind_indexes(number))


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


DEFAULT_ALERT_THRESHOLD = 20


async def lookup_alerts(
    info: Info,
    since: dt.datetime,
    until: dt.datetime,
    threshold: int = DEFAULT_ALERT_THRESHOLD,
) -> list[LookupAlert]:
    """Credentials whose verification misses plus claim conflicts reach the threshold."""
    _check_times(since, until)
    if not dt.timedelta(0) < until - since <= MAX_ACTIVITY_SPAN:
        raise InvalidInput("until: after since, at most 93 days later", field="until")
    if threshold < 1:
        raise InvalidInput("threshold: at least 1", field="threshold")
    async with info.context.reading() as session:
        tallies = await lookup_tallies(session, since=since, until=until)
    return [
        LookupAlert(
            principal=t.principal,
            role=t.role,
            credential_id=t.credential_id,
            lookups=t.lookups,
            misses=t.misses,
            conflicts=t.conflicts,
            first_at=t.first_at,
            last_at=t.last_at,
        )
        for t in tallies
        if t.misses + t.conflicts >= threshold
    ]


@strawberry.enum
class Bucket(enum.Enum):
    HOUR = "HOUR"
    DAY = "DAY"


@strawberry.enum
class Grouping(enum.Enum):
    PRINCIPAL = "PRINCIPAL"
    ROLE = "ROLE"


@strawberry.type(
    description="Refused or failed requests in one time bucket for one principal or role."
)
class ActivityBucket:
    start: dt.datetime
    key: str
    count: int


MAX_ACTIVITY_SPAN = dt.timedelta(days=93)


async def audit_activity(
    info: Info, since: dt.datetime, until: dt.datetime, bucket: Bucket, by: Grouping
) -> list[ActivityBucket]:
    _check_times(since, until)
    if not dt.timedelta(0) < until - since <= MAX_ACTIVITY_SPAN:
        raise InvalidInput("until: after since, at most 93 days later", field="until")
    async with info.context.reading() as session:
        rows = await refused_activity(
            session,
            since=since,
            until=until,
            hourly=bucket is Bucket.HOUR,
            by_role=by is Grouping.ROLE,
        )
    return [ActivityBucket(start=start, key=key, count=count) for start, key, count in rows]


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


async def audit_chain(info: Info) -> AuditChainStatus:
    async with info.context.reading() as session:
        entries, head_seq, last = await chain_status(session)
    return AuditChainStatus(
        entries=entries,
        head_seq=head_seq,
        last_verification=AuditVerificationRun.from_row(last) if last is not None else None,
    )


async def verify_audit_chain(info: Info) -> AuditVerificationRun:
    """Recompute the whole chain now; the result is kept for the console's status view."""
    ctx = info.context
    async with ctx.sessions() as session:
        result = await verify(session, ctx.cipher.keys, anchor_file=ctx.settings.anchor_file)
    row = AuditVerification(
        at=ctx.now,
        ok=result.ok,
        entries=result.entries,
        first_bad=result.first_bad,
        reason=result.reason or result.warning,
        verified_by=ctx.principal.name,
    )
    async with ctx.writing() as session:
        session.add(row)
        await session.flush()
    return AuditVerificationRun.from_row(row)
