"""Reads of household archives. Every statement carries the caller's region scope.

Scope is a prefix of the village code, applied in SQL (never as a Python
filter), so that counts and pages are right and an out-of-scope archive is
indistinguishable from a missing one.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from domain import bounds
from domain.archive import ARCHIVE_NO_RE
from domain.categories import elderly_born_on_or_before, minor_born_after
from domain.enums import Area, Category, HouseholdStatus
from domain.errors import InvalidInput
from store.fastread import Reads, Record
from store.models import (
    ArchiveDocument,
    Asset,
    BenefitHistory,
    ChangeReport,
    Household,
    IdClaim,
    Member,
    Objection,
    Payment,
    Region,
    Review,
    Standard,
)

T = TypeVar(
    "T", Member, Review, Payment, Asset, ChangeReport, Objection, BenefitHistory, ArchiveDocument
)


def code_prefix(
    column: ColumnElement[str] | InstrumentedAttribute[str], prefix: str
) -> ColumnElement[bool]:
    """Codes starting with a digit prefix, as a range the index can serve.

    The bounds are rendered into the SQL as constants (the prefix is a validated
    digit string, never caller text), so the planner sees the real range for each
    scope: a township's page reads the village index, a province's the primary
    key. As a bound parameter of a prepared statement, the generic plan scanned
    the whole table for small scopes (measured: 0.4x the big-scope rate at 100k).
    """
    if not (prefix.isascii() and prefix.isdigit()):  # validated upstream; checked again
        raise ValueError("region prefix must be digits")  # here, as it goes into the SQL

    def constant(digits: str) -> ColumnElement[str]:
        return literal_column(f"'{digits}'", String)  # ASCII digits only: nothing to escape

    low = column >= constant(prefix)
    if set(prefix) == {"9"}:
        return low
    return and_(low, column < constant(str(int(prefix) + 1).zfill(len(prefix))))


def in_scope(scope: str) -> ColumnElement[bool]:
    """Rows of households whose village code starts with the scope ("" = national).

    Written as a range on the archive number, which begins with the village code
    (a rule the database enforces: migration 0008), so the primary key serves a
    scoped page in page order and stops after one page. With the village code's
    range as well, the planner multiplied the two (correlated) selectivities and
    chose to read and sort the whole township: 28 ms against 0.5 ms for a
    township of 3,700 households (EXPLAIN ANALYZE, 100k households).
    """
    if not scope:
        return true()
    return code_prefix(Household.archive_no, scope)


@dataclass(frozen=True, slots=True)
class HouseholdFilter:
    scope: str
    region: str | None = None
    statuses: Sequence[HouseholdStatus] | None = None
    category: Category | None = None
    area: Area | None = None
    marginal: bool | None = None  # 低保边缘家庭 (the stored flag, a partial index)
    legacy_archive_no: str | None = None  # 原档案编号 (bulk import), leads a unique index


def member_in_category(category: Category, today: dt.date) -> ColumnElement[bool]:
    """A member row that puts its household in `category` (the one statement of the rule,
    read by the filter below and by `statistics`, which counts all four in one pass)."""
    if category is Category.DISABLED:
        return Member.disability_grade.is_not(None)
    if category is Category.ELDERLY:
        return Member.birth_date <= elderly_born_on_or_before(today)
    if category is Category.MINOR:
        return Member.birth_date > minor_born_after(today)
    return Member.serious_illness.is_(True)


def category_clause(category: Category, today: dt.date) -> ColumnElement[bool]:
    return exists(
        select(Member.id).where(
            Member.archive_no == Household.archive_no,
            Member.active,
            member_in_category(category, today),
        )
    )


S = TypeVar("S", bound=Select)  # type: ignore[type-arg]


def _filtered(stmt: S, flt: HouseholdFilter, today: dt.date) -> S:
    stmt = stmt.where(in_scope(flt.scope))
    if flt.region:
        stmt = stmt.where(code_prefix(Household.archive_no, flt.region))  # as in_scope
    if flt.statuses:
        stmt = stmt.where(Household.status.in_([s.value for s in flt.statuses]))
    if flt.area is not None:
        stmt = stmt.where(Household.area == flt.area.value)
    if flt.category is not None:
        stmt = stmt.where(category_clause(flt.category, today))
    if flt.marginal is not None:
        # `= true` as the partial index ix_households_marginal is written (models.py)
        stmt = stmt.where(Household.marginal == (true() if flt.marginal else false()))
    if flt.legacy_archive_no is not None:
        stmt = stmt.where(Household.legacy_archive_no == flt.legacy_archive_no)
    return stmt


def _page(stmt: S, flt: HouseholdFilter, today: dt.date, *, after: bool) -> S:
    """A page of households as both read paths select it: the filters' WHERE, after
    the cursor's archive number (`after`) when there is one, in archive-number order,
    `limit` rows (one more than the page, to know whether another follows)."""
    stmt = _filtered(stmt, flt, today)
    if after:
        stmt = stmt.where(Household.archive_no > bindparam("after", type_=String))
    return stmt.order_by(Household.archive_no).limit(bindparam("limit", type_=Integer))


def _page_params(first: int, after: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": first + 1}
    if after is not None:
        params["after"] = decode_cursor(after)
    return params


def _counted(flt: HouseholdFilter, today: dt.date) -> Select[Any]:
    return _filtered(select(func.count().label("n")).select_from(Household), flt, today)


def _one(stmt: S, scope: str) -> S:
    """The household named by the `archive_no` parameter, if in scope."""
    return stmt.where(
        Household.archive_no == bindparam("archive_no", type_=String), in_scope(scope)
    )


def encode_cursor(archive_no: str) -> str:
    return base64.urlsafe_b64encode(f"h:{archive_no}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The archive number inside a cursor, checked as strictly as one sent directly:
    whatever else a decoded cursor holds (a NUL, other scripts) never reaches SQL."""
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
        archive_no = raw.decode("ascii").removeprefix("h:")
    except ValueError:  # not ASCII, not base64, not text
        raise InvalidInput("after: not a cursor from this API", field="after") from None
    if not raw.startswith(b"h:") or ARCHIVE_NO_RE.fullmatch(archive_no) is None:
        raise InvalidInput("after: not a cursor from this API", field="after")
    return archive_no


async def page_households(
    session: AsyncSession,
    *,
    flt: HouseholdFilter,
    first: int,
    after: str | None,
    today: dt.date,
) -> tuple[Sequence[Household], bool]:
    """One page in archive-number order, and whether another page follows."""
    stmt = _page(select(Household), flt, today, after=after is not None)
    result = await session.scalars(stmt, _page_params(first, after))
    rows: Sequence[Household] = result.all()
    return rows[:first], len(rows) > first


async def count_households(session: AsyncSession, *, flt: HouseholdFilter, today: dt.date) -> int:
    return int(await session.scalar(_counted(flt, today)) or 0)


async def get_household(session: AsyncSession, *, scope: str, archive_no: str) -> Household | None:
    return await session.scalar(_one(select(Household), scope), {"archive_no": archive_no})


async def _children_by_archive(
    session: AsyncSession,
    model: type[T],
    *,
    scope: str,
    archive_nos: Sequence[str],
    order: Sequence[InstrumentedAttribute[Any]],
    bound: int,
    where: ColumnElement[bool] | InstrumentedAttribute[bool] | None = None,
) -> dict[str, list[T]]:
    """Each household's rows in `order`, at most `bound` of them: the last ones in
    that order (the newest, for histories), cut in SQL by a rank per household."""
    recent = func.row_number().over(
        partition_by=model.archive_no, order_by=[column.desc() for column in order[1:]]
    )
    ranked = (
        select(model, recent.label("recent"))
        .join(Household, Household.archive_no == model.archive_no)
        .where(model.archive_no.in_(archive_nos), in_scope(scope))
    )
    if where is not None:
        ranked = ranked.where(where)
    inner = ranked.subquery()
    row = aliased(model, inner)
    stmt = (
        select(row)
        .where(inner.c.recent <= bound)
        .order_by(*(getattr(row, column.key) for column in order))
    )
    grouped: dict[str, list[T]] = defaultdict(list)
    for found in (await session.scalars(stmt)).all():
        grouped[found.archive_no].append(found)
    return grouped


async def members_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[Member]]:
    """Current members only: former ones are neither listed nor counted."""
    return await _children_by_archive(
        session,
        Member,
        scope=scope,
        archive_nos=archive_nos,
        order=[Member.archive_no, Member.position],
        bound=bounds.MEMBERS,
        where=Member.active,
    )


async def reviews_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[Review]]:
    return await _children_by_archive(
        session,
        Review,
        scope=scope,
        archive_nos=archive_nos,
        order=[Review.archive_no, Review.created_at, Review.id],
        bound=bounds.REVIEWS,
    )


async def payments_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[Payment]]:
    return await _children_by_archive(
        session,
        Payment,
        scope=scope,
        archive_nos=archive_nos,
        order=[Payment.archive_no, Payment.period, Payment.seq],
        bound=bounds.PAYMENTS,
    )


async def assets_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[Asset]]:
    return await _children_by_archive(
        session,
        Asset,
        scope=scope,
        archive_nos=archive_nos,
        order=[Asset.archive_no, Asset.kind, Asset.id],
        bound=bounds.ASSETS,
    )


async def changes_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[ChangeReport]]:
    return await _children_by_archive(
        session,
        ChangeReport,
        scope=scope,
        archive_nos=archive_nos,
        order=[ChangeReport.archive_no, ChangeReport.created_at, ChangeReport.id],
        bound=bounds.CHANGES,
    )


async def objections_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[Objection]]:
    return await _children_by_archive(
        session,
        Objection,
        scope=scope,
        archive_nos=archive_nos,
        order=[Objection.archive_no, Objection.created_at, Objection.id],
        bound=bounds.OBJECTIONS,
    )


async def benefits_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[BenefitHistory]]:
    return await _children_by_archive(
        session,
        BenefitHistory,
        scope=scope,
        archive_nos=archive_nos,
        order=[
            BenefitHistory.archive_no,
            BenefitHistory.effective_from,
            BenefitHistory.created_at,
        ],
        bound=bounds.BENEFIT_HISTORY,
    )


async def regions_by_code(session: AsyncSession, *, codes: Sequence[str]) -> dict[str, Region]:
    rows = (await session.scalars(select(Region).where(Region.code.in_(codes)))).all()
    return {row.code: row for row in rows}


async def standards_in_force(
    session: AsyncSession, *, county_code: str, area: Area, on: dt.date
) -> Standard | None:
    return await session.scalar(
        select(Standard)
        .where(
            Standard.county_code == county_code,
            Standard.area == area.value,
            Standard.effective_from <= on,
            (Standard.effective_to.is_(None)) | (Standard.effective_to >= on),
        )
        .order_by(Standard.effective_from.desc())
        .limit(1)
    )


async def recipient_by_index(
    session: AsyncSession, *, scope: str, id_indexes: Sequence[bytes]
) -> tuple[Household, Member] | None:
    """The pending or active household in scope that holds this ID number, if any."""
    row = (
        await session.execute(
            select(Household, Member)
            .join(IdClaim, IdClaim.archive_no == Household.archive_no)
            .join(Member, Member.id == IdClaim.member_id)
            .where(and_(IdClaim.id_index.in_(list(id_indexes)), in_scope(scope)))
        )
    ).first()
    return None if row is None else (row[0], row[1])


# Core reads for the compiled read path (gateway/compiled.py): the same clauses and
# scope as above, only the columns the operation needs, plain rows instead of ORM
# entities (measured: entity loading was the largest single cost of a page).
HOUSEHOLDS = Household.__table__
MEMBERS = Member.__table__


# The compiled path's statements, built once per shape: a statement is immutable,
# and building one with its SQLAlchemy cache key cost about a quarter of a point
# lookup's CPU (py-spy). Each builder's cache key is all of its arguments, so the
# scope (rendered into the WHERE as constants) is always part of it.
STATEMENTS = 1024


@functools.lru_cache(maxsize=STATEMENTS)
def _page_statement(
    columns: tuple[str, ...], flt: HouseholdFilter, today: dt.date, after: bool
) -> Select[Any]:
    return _page(select(*(HOUSEHOLDS.c[c] for c in columns)), flt, today, after=after)


@functools.lru_cache(maxsize=STATEMENTS)
def _count_statement(flt: HouseholdFilter, today: dt.date) -> Select[Any]:
    return _counted(flt, today)


@functools.lru_cache(maxsize=STATEMENTS)
def _household_statement(columns: tuple[str, ...], scope: str) -> Select[Any]:
    return _one(select(*(HOUSEHOLDS.c[c] for c in columns)), scope)


@functools.lru_cache(maxsize=STATEMENTS)
def _members_statement(columns: tuple[str, ...], scope: str, postgres: bool) -> Select[Any]:
    if postgres:
        # one statement shape for any number of households; the array bounds both
        # sides of the join, so the prepared (generic) plan never scans households
        keys = bindparam("archive_nos", type_=ARRAY(String))
        wanted = and_(MEMBERS.c.archive_no == any_(keys), HOUSEHOLDS.c.archive_no == any_(keys))
    else:
        wanted = MEMBERS.c.archive_no.in_(bindparam("archive_nos", expanding=True))
    # the same cut as `members_by_archive`: the last members by position
    recent = func.row_number().over(
        partition_by=MEMBERS.c.archive_no, order_by=MEMBERS.c.position.desc()
    )
    wanted_columns = [*columns, *(() if "position" in columns else ("position",))]
    inner = (
        select(*(MEMBERS.c[c] for c in wanted_columns), recent.label("recent"))
        .join(HOUSEHOLDS, HOUSEHOLDS.c.archive_no == MEMBERS.c.archive_no)
        .where(wanted, MEMBERS.c.active, in_scope(scope))
        .subquery()
    )
    return (
        select(*(inner.c[c] for c in columns))
        .where(inner.c.recent <= bounds.MEMBERS)
        .order_by(inner.c.archive_no, inner.c.position)
    )


def _compiled_filter(flt: HouseholdFilter) -> HouseholdFilter:
    if flt.statuses or flt.category is not None or flt.area is not None:
        raise ValueError("the compiled reads take scope and region filters only")
    return flt


async def page_household_rows(
    reads: Reads,
    *,
    columns: tuple[str, ...],
    flt: HouseholdFilter,
    first: int,
    after: str | None,
    today: dt.date,
) -> tuple[Sequence[Record], bool]:
    stmt = _page_statement(columns, _compiled_filter(flt), today, after is not None)
    rows = await reads.all(stmt, **_page_params(first, after))
    return rows[:first], len(rows) > first


async def count_household_rows(reads: Reads, *, flt: HouseholdFilter, today: dt.date) -> int:
    return int(await reads.scalar(_count_statement(_compiled_filter(flt), today)) or 0)


async def household_row(
    reads: Reads, *, columns: tuple[str, ...], scope: str, archive_no: str
) -> Record | None:
    rows = await reads.all(_household_statement(columns, scope), archive_no=archive_no)
    return rows[0] if rows else None


async def active_member_rows(
    reads: Reads, *, columns: tuple[str, ...], scope: str, archive_nos: Sequence[str]
) -> dict[str, list[Record]]:
    """Active members of these households in scope, in household order (as `members`)."""
    stmt = _members_statement(columns, scope, reads.reader.postgres)
    grouped: dict[str, list[Record]] = defaultdict(list)
    for row in await reads.all(stmt, archive_nos=list(archive_nos)):
        grouped[row["archive_no"]].append(row)
    return grouped


async def page_by(
    session: AsyncSession,
    stmt: Select[Household],
    *,
    key: InstrumentedAttribute[Any],
    scope: str,
    first: int,
    after: str | None,
) -> tuple[Sequence[Household], bool]:
    """One page of `stmt` in (key, archive number) order after the cursor's household,
    and whether another page follows. The cursor is the household's, as everywhere.

    The anchor's sort value is looked up in the caller's scope: a cursor naming an
    archive outside it finds no anchor and reads as one naming no archive at all
    (an empty page), so pages cannot be used to learn where others' archives sort.
    """
    if after is not None:
        archive_no = decode_cursor(after)
        anchor = (
            select(key).where(Household.archive_no == archive_no, in_scope(scope)).scalar_subquery()
        )
        stmt = stmt.where(or_(key > anchor, and_(key == anchor, Household.archive_no > archive_no)))
    result = await session.scalars(stmt.order_by(key, Household.archive_no).limit(first + 1))
    rows: Sequence[Household] = result.all()
    return rows[:first], len(rows) > first


async def count_of(session: AsyncSession, stmt: Select[Household]) -> int:
    return int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
