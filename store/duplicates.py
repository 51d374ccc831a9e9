"""Existing double claims (防止重复享受): one ID number in more than one claiming household.

The `id_claims` primary key stops new ones; this finds those already there
(data imported before the check, for instance). People are grouped by the
blind index alone, in SQL, so no ID number is ever decrypted. A group is shown
to a caller only when at least one of its households is in the caller's view
(region scope, narrowed by an optional region); of the rest, only a count.
Groups are paged in SQL, by keyset, so a page costs its own groups only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.archive import ARCHIVE_NO_RE
from domain.bounds import DUPLICATE_ARCHIVES as MAX_ARCHIVES
from domain.enums import CLAIMING_STATUSES
from domain.errors import InvalidInput
from store.households import code_prefix, in_scope
from store.models import Household, Member


@dataclass(frozen=True, slots=True)
class Candidate:
    archive_nos: tuple[str, ...]  # inside the caller's view, at most MAX_ARCHIVES
    elsewhere: int  # households outside it
    members: int  # member records carrying the ID number, across all households
    cursor: str  # where the next page starts after this group


def _view(
    scope: str, region: str | None, column: Any = Household.archive_no
) -> ColumnElement[bool]:
    """The caller's view as a range of archive numbers (each begins with its village
    code), on the households or on the members' own column: the planner does not
    carry a range across a join, and without it read the nation's members."""
    clause = code_prefix(column, scope) if scope else in_scope(scope)
    if region:
        if not (region.isascii() and region.isdigit()):
            raise ValueError("region must be digits")
        clause = and_(clause, code_prefix(column, region))
    return clause


def _claiming() -> ColumnElement[bool]:
    return and_(Member.active, Household.status.in_(sorted(s.value for s in CLAIMING_STATUSES)))


def _groups(visible: ColumnElement[bool], members_visible: ColumnElement[bool]) -> Subquery:
    """One row per ID number held by more than one claiming household, one of them
    in view; placed by its first archive in view, then its rank among the groups
    sharing that first archive (the blind index orders them but never leaves SQL)."""
    claiming = _claiming()
    # only people held by a household in the view are grouped: a county reviewer's
    # query scans the county's members, not the nation's; and of those only people
    # whose blind index is on an active member of another household too (one index
    # probe each), so the great majority, held once, never reach the grouping
    other = aliased(Member)
    held_elsewhere = (
        select(other.id)
        .where(
            other.id_index == Member.id_index,
            other.archive_no != Member.archive_no,
            other.active,
        )
        .exists()
    )
    in_view = (
        select(Member.id_index)
        .join(Household, Household.archive_no == Member.archive_no)
        .where(claiming, visible, members_visible, held_elsewhere)
        .correlate(None)
    )
    households = func.count(distinct(Household.archive_no))
    inside = func.count(distinct(case((visible, Household.archive_no))))
    first = func.min(case((visible, Household.archive_no)))
    grouped = (
        select(
            Member.id_index.label("id_index"),
            households.label("households"),
            inside.label("inside"),
            func.count(Member.id).label("members"),
            first.label("first"),
        )
        .join(Household, Household.archive_no == Member.archive_no)
        .where(claiming, Member.id_index.in_(in_view))
        .group_by(Member.id_index)
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
    visible = _view(scope, region)
    groups = _groups(visible, _view(scope, region, Member.archive_no))
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
                Household.archive_no,
            )
            .join(Member, Member.id_index == page.c.id_index)
            .join(Household, Household.archive_no == Member.archive_no)
            .where(_claiming(), visible)
            .order_by(page.c.first, page.c.nth, Household.archive_no)
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
    groups = _groups(_view(scope, region), _view(scope, region, Member.archive_no))
    return int(await session.scalar(select(func.count()).select_from(groups)) or 0)
