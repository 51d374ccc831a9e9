"""Query resolvers over household archives. Region scope comes from the principal

and goes into SQL through `store.households`; nothing here filters rows in Python.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from audit import fields as F
from audit.lookups import lookup
from domain.archive import parse_archive_no
from domain.bounds import DEFAULT_PAGE, page_size
from domain.enums import Area, Category, HouseholdStatus
from domain.idnumber import normalize_id_number, parse_id_number
from domain.region import validate_scope
from resolvers.context import Info
from resolvers.pages import Page
from store import households as store
from store import models
from store.households import HouseholdFilter, encode_cursor


@dataclass(frozen=True, slots=True)
class Recipient:
    """The answer to `verifyRecipient`, before the schema (and the gate's masks) see it."""

    is_recipient: bool
    status: HouseholdStatus | None
    county_code: str | None
    name: str | None
    id_number: str | None


async def household(info: Info, archive_no: str) -> models.Household | None:
    parse_archive_no(archive_no)
    ctx = info.context
    async with ctx.reading() as session:
        row = await store.get_household(session, scope=ctx.principal.scope, archive_no=archive_no)
    if row is None:
        return None
    ctx.touched.add(row.archive_no)
    return row


async def households(
    info: Info,
    region: str | None = None,
    status: list[HouseholdStatus] | None = None,
    category: Category | None = None,
    area: Area | None = None,
    marginal: bool | None = None,
    legacy_archive_no: str | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
) -> Page[models.Household]:
    size = page_size(first)
    flt = HouseholdFilter(
        scope=info.context.principal.scope,
        region=validate_scope(region, field="region") if region else None,
        statuses=status,
        category=category,
        area=area,
        marginal=marginal,
        legacy_archive_no=legacy_archive_no,
    )
    ctx = info.context
    async with ctx.reading() as session:
        rows, has_next = await store.page_households(
            session, flt=flt, first=size, after=after, today=ctx.today
        )
    ctx.touched.update(r.archive_no for r in rows)

    async def count() -> int:
        async with ctx.reading() as session:
            return await store.count_households(session, flt=flt, today=ctx.today)

    return _page(rows, has_next=has_next, after=after, count=count)


def _page(
    rows: Sequence[models.Household],
    *,
    has_next: bool,
    after: str | None,
    count: Callable[[], Awaitable[int]],
) -> Page[models.Household]:
    """Every page of households is built alike: the same cursors."""
    return Page(
        rows=[(r, encode_cursor(r.archive_no)) for r in rows],
        has_next=has_next,
        after=after,
        count=count,
    )


async def household_page(
    info: Info,
    stmt: Select[models.Household] | None,
    *,
    key: InstrumentedAttribute[Any],
    first: int | None,
    after: str | None,
) -> Page[models.Household]:
    """A page of households selected by `stmt` (None: none) in (key, archive number)
    order, as a connection like `households`, with its cursors."""
    size = page_size(first)
    ctx = info.context
    rows: Sequence[models.Household] = []
    has_next = False
    if stmt is not None:
        async with ctx.reading() as session:
            rows, has_next = await store.page_by(
                session, stmt, key=key, scope=ctx.principal.scope, first=size, after=after
            )
    ctx.touched.update(r.archive_no for r in rows)

    async def count() -> int:
        if stmt is None:
            return 0
        async with ctx.reading() as session:
            return await store.count_of(session, stmt)

    return _page(rows, has_next=has_next, after=after, count=count)


async def verify_recipient(info: Info, id_number: str) -> Recipient:
    """Partners ask whether a person currently receives dibao. Its details are masked
    for every role by the shipped policy (RecipientCheck.name, .idNumber read_masked)."""
    ctx = info.context
    number = parse_id_number(
        normalize_id_number(id_number), field="idNumber", today=ctx.today
    ).number
    indexes = ctx.cipher.blind_indexes(number)
    async with ctx.reading() as session:
        found = await store.recipient_by_index(
            session, scope=ctx.principal.scope, id_indexes=indexes
        )
    # hits and misses alike: a run of misses is what an enumeration looks like
    ctx.lookups.append(lookup(F.LOOKUP_VERIFY, indexes[0], found=found is not None))
    if found is None:
        return Recipient(
            is_recipient=False, status=None, county_code=None, name=None, id_number=None
        )
    row, member = found
    ctx.touched.add(row.archive_no)  # who asked about whom is exactly what auditors need
    name = ctx.cipher.decrypt(member.name_enc, table="members", column="name", row_id=member.id)
    return Recipient(
        is_recipient=row.status == HouseholdStatus.ACTIVE.value,
        status=HouseholdStatus(row.status),
        county_code=row.village_code[:6],
        name=name,  # masked by the gate: the policy reads RecipientCheck.name masked
        id_number=number,
    )
