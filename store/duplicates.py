"""Existing double claims (防止重复享受): one ID number in more than one claiming household.

The `id_claims` primary key stops new ones; this finds those already there
(data imported before the check, for instance). People are grouped by the
blind index alone, in SQL, so no ID number is ever decrypted. A group is shown
to a caller only when at least one of its households is in the caller's view
(region scope, narrowed by an optional region); of the rest, only a count.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import CLAIMING_STATUSES
from store.households import code_prefix, in_scope
from store.models import Household, Member


@dataclass(frozen=True, slots=True)
class Candidate:
    archive_nos: tuple[str, ...]  # inside the caller's view
    elsewhere: int  # households outside it
    members: int  # member records carrying the ID number, across all households


def _view(scope: str, region: str | None) -> ColumnElement[bool]:
    clause = in_scope(scope)
    if region:
        if not (region.isascii() and region.isdigit()):
            raise ValueError("region must be digits")
        clause = and_(clause, code_prefix(Household.village_code, region))
    return clause


async def duplicate_candidates(
    session: AsyncSession, *, scope: str, region: str | None
) -> list[Candidate]:
    visible = _view(scope, region)
    claiming = and_(
        Member.active,
        Household.status.in_(sorted(s.value for s in CLAIMING_STATUSES)),
    )
    # only people held by a household in the view are grouped: a county reviewer's
    # query scans the county's members, not the nation's
    in_view = (
        select(Member.id_index)
        .join(Household, Household.archive_no == Member.archive_no)
        .where(claiming, visible)
        .correlate(None)
    )
    households = func.count(distinct(Household.archive_no))
    inside = func.count(distinct(case((visible, Household.archive_no))))
    groups = (
        select(
            Member.id_index.label("id_index"),
            households.label("households"),
            inside.label("inside"),
            func.count(Member.id).label("members"),
        )
        .join(Household, Household.archive_no == Member.archive_no)
        .where(claiming, Member.id_index.in_(in_view))
        .group_by(Member.id_index)
        .having(households > 1, inside > 0)
        .subquery()
    )
    # one statement (one snapshot): each group with its households inside the view
    rows = (
        await session.execute(
            select(
                groups.c.id_index,
                groups.c.households,
                groups.c.inside,
                groups.c.members,
                Household.archive_no,
            )
            .join(Member, Member.id_index == groups.c.id_index)
            .join(Household, Household.archive_no == Member.archive_no)
            .where(claiming, visible)
            .order_by(groups.c.id_index, Household.archive_no)
        )
    ).all()
    by_group: dict[bytes, tuple[int, int, int, list[str]]] = {}
    for id_index, total, seen, members, archive_no in rows:
        entry = by_group.setdefault(id_index, (int(total), int(seen), int(members), []))
        if archive_no not in entry[3]:
            entry[3].append(archive_no)
    candidates = [
        Candidate(archive_nos=tuple(numbers), elsewhere=total - seen, members=members)
        for total, seen, members, numbers in by_group.values()
    ]
    return sorted(candidates, key=lambda c: (c.archive_nos, c.elsewhere))
