"""Existing double claims (防止重复享受): one ID number in more than one claiming household.

The `id_claims` primary key stops new ones; this finds those already there
(data imported before the check, for instance). People are grouped by the
blind index alone, so no ID number is ever decrypted. The groups are kept in
`member_duplicates` (migration 0025: database triggers refresh a person's rows
in the transaction of every change to a member or to a household's status), so
a read costs the rows of its own scope's candidates, not a grouping of the
scope's members. A group is shown to a caller only when at least one of its
households is in the caller's view (region scope, narrowed by an optional
region); of the rest, only a count. Groups are paged in SQL, by keyset, so a
page costs its own groups only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.archive import ARCHIVE_NO_RE
from domain.bounds import DUPLICATE_ARCHIVES as MAX_ARCHIVES
from domain.errors import InvalidInput
from store.households import code_prefix
from store.models import MemberDuplicate


@dataclass(frozen=True, slots=True)
class Candidate:
    archive_nos: tuple[str, ...]  # inside the caller's view, at most MAX_ARCHIVES
    elsewhere: int  # households outside it
    members: int  # member records carrying the ID number, across all households
    cursor: str  # where the next page starts after this group


def _view(scope: str, region: str | None, column: Any) -> ColumnElement[bool]:
    """The caller's view as a range of archive numbers (each begins with its village
    code): the region scope in the WHERE of every read of the table."""
    clause: ColumnElement[bool] = code_prefix(column, scope) if scope else true()
    if region:
        if not (region.isascii() and region.isdigit()):
            raise ValueError("region must be digits")
        clause = and_(clause, code_prefix(column, region))
    return clause


def _groups(scope: str, region: str | None) -> Subquery:
    """One row per person held by more than one claiming household, one of them in
    view; placed by its first archive in view, then its rank among the groups sharing
    that first archive (the blind index orders them but never leaves SQL)."""
    row = aliased(MemberDuplicate)
    # the people with a household in view (the index on archive number, the scope's
    # range), then each one's rows wherever they are (the primary key, by person)
    in_view = select(MemberDuplicate.id_index).where(
        _view(scope, region, MemberDuplicate.archive_no)
    )
    visible = _view(scope, region, row.archive_no)
    households = func.count(row.archive_no)
    inside = func.count(case((visible, row.archive_no)))
    first = func.min(case((visible, row.archive_no)))
    grouped = (
        select(
            row.id_index.label("id_index"),
            households.label("households"),
            inside.label("inside"),
            func.sum(row.members).label("members"),
            first.label("first"),
        )
        .where(row.id_index.in_(in_view))
        .group_by(row.id_index)
        .having(households > 1, inside > 0)
        .subquery()
    )
    nth = func.row_number().over(partition_by=grouped.c.first, order_by=grouped.c.id_index)
    return select(grouped, nth.label("nth")).subquery()


def encode_cursor(first: str, nth: int) -> str:
    return base64.urlsafe_b64encode(f"d:{first}:{nth}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        kind, first, nth = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if kind != "d" or ARCHIVE_NO_RE.fullmatch(first) is None:
            raise ValueError(kind)
        return first, int(nth)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("after: not a cursor from this API", field="after") from None


async def duplicate_candidates(
    session: AsyncSession,
    *,
    scope: str,
    region: str | None,
    first: int,
    after: str | None,
) -> tuple[list[Candidate], bool]:
    """One page of groups in (first archive in view, rank) order after the cursor,
    and whether another page follows: the page is cut in SQL, and only its groups'
    households are read."""
    groups = _groups(scope, region)
    stmt = select(groups)
    if after is not None:
        archive_no, nth = decode_cursor(after)
        stmt = stmt.where(
            or_(groups.c.first > archive_no, and_(groups.c.first == archive_no, groups.c.nth > nth))
        )
    page = stmt.order_by(groups.c.first, groups.c.nth).limit(first + 1).subquery()
    # one statement (one snapshot): the page's groups with their households in view
    rows = (
        await session.execute(
            select(
                page.c.first,
                page.c.nth,
                page.c.households,
                page.c.inside,
                page.c.members,
                MemberDuplicate.archive_no,
            )
            .join(MemberDuplicate, MemberDuplicate.id_index == page.c.id_index)
            .where(_view(scope, region, MemberDuplicate.archive_no))
            .order_by(page.c.first, page.c.nth, MemberDuplicate.archive_no)
        )
    ).all()
    by_group: dict[tuple[str, int], tuple[int, int, int, list[str]]] = {}
    for first_no, nth, total, seen, members, archive_no in rows:
        entry = by_group.setdefault((first_no, nth), (int(total), int(seen), int(members), []))
        numbers = entry[3]
        if archive_no not in numbers and len(numbers) < MAX_ARCHIVES:
            numbers.append(archive_no)
    candidates = [
        Candidate(
            archive_nos=tuple(numbers),
            elsewhere=total - seen,
            members=members,
            cursor=encode_cursor(*key),
        )
        for key, (total, seen, members, numbers) in by_group.items()
    ]
    return candidates[:first], len(candidates) > first


async def count_candidates(session: AsyncSession, *, scope: str, region: str | None) -> int:
    groups = _groups(scope, region)
    return int(await session.scalar(select(func.count()).select_from(groups)) or 0)
