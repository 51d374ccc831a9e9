"""`auditEvents`: security officers review who accessed what, when, and what was refused."""

from __future__ import annotations

import base64
import datetime as dt
import enum

from audit import fields as F
from audit.chain import verify
from audit.lookups import LookupTally, lookup, lookup_tallies, search_key
from audit.queries import AuditFilter, chain_status, page_entries, refused_activity
from domain.archive import parse_archive_no
from domain.bounds import DEFAULT_PAGE, page_size
from domain.errors import InvalidInput
from domain.idnumber import normalize_id_number, parse_id_number
from resolvers.context import Info
from resolvers.pages import Page
from store.models import AuditEntry, AuditVerification


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
    looked_up_id_number: str | None = None,
) -> Page[AuditEntry]:
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
        number = parse_id_number(
            normalize_id_number(looked_up_id_number), today=info.context.today
        ).number
        index = info.context.cipher.blind_index(number)
        info.context.lookups.append(lookup(F.LOOKUP_SEARCH, index, found=bool(rows)))
    return Page(rows=[(r, _cursor(r.seq)) for r in rows], has_next=has_next, after=after)


def _lookup_keys(info: Info, id_number: str | None) -> tuple[str, ...] | None:
    if id_number is None:
        return None
    number = parse_id_number(
        normalize_id_number(id_number), field="lookedUpIdNumber", today=info.context.today
    ).number
    # every index key version: entries from before a rotation are found too
    return tuple(search_key(ix.hex()) for ix in info.context.cipher.blind_indexes(number))


DEFAULT_ALERT_THRESHOLD = 20


async def lookup_alerts(
    info: Info,
    since: dt.datetime,
    until: dt.datetime,
    threshold: int = DEFAULT_ALERT_THRESHOLD,
) -> list[LookupTally]:
    """Credentials whose verification misses plus claim conflicts reach the threshold."""
    _check_times(since, until)
    if not dt.timedelta(0) < until - since <= MAX_ACTIVITY_SPAN:
        raise InvalidInput("until: after since, at most 93 days later", field="until")
    if threshold < 1:
        raise InvalidInput("threshold: at least 1", field="threshold")
    async with info.context.reading() as session:
        tallies = await lookup_tallies(session, since=since, until=until)
    return [t for t in tallies if t.misses + t.conflicts >= threshold]


class Bucket(enum.Enum):
    HOUR = "HOUR"
    DAY = "DAY"


class Grouping(enum.Enum):
    PRINCIPAL = "PRINCIPAL"
    ROLE = "ROLE"


MAX_ACTIVITY_SPAN = dt.timedelta(days=93)


async def audit_activity(
    info: Info, since: dt.datetime, until: dt.datetime, bucket: Bucket, by: Grouping
) -> list[tuple[dt.datetime, str, int]]:
    _check_times(since, until)
    if not dt.timedelta(0) < until - since <= MAX_ACTIVITY_SPAN:
        raise InvalidInput("until: after since, at most 93 days later", field="until")
    async with info.context.reading() as session:
        return await refused_activity(
            session,
            since=since,
            until=until,
            hourly=bucket is Bucket.HOUR,
            by_role=by is Grouping.ROLE,
        )


async def audit_chain(info: Info) -> tuple[int, int, AuditVerification | None]:
    """Entries kept, the head's sequence number, and the last verification run."""
    async with info.context.reading() as session:
        return await chain_status(session)


async def verify_audit_chain(info: Info) -> AuditVerification:
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
    return row
