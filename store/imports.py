"""Writing households from a legacy register (bulk import), a chunk at a time.

The reads that decide a chunk (villages, legacy numbers already imported, ID numbers
already claimed) are one query each; the writes are one multi-row insert per table,
in the caller's transaction. Each household's rows are built by the pieces the
application path uses (`sealed_member`, the archive sequence, `schedule_review`, the
benefit entry), so an imported archive is stored exactly as a submitted one is.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.archive import format_archive_no
from domain.benefit import next_month_start
from domain.enums import HouseholdStatus
from domain.legacy import PAID, ValidHousehold
from domain.region import in_scope
from domain.workflow import ReviewClass, Step
from store import locks
from store.applications import sealed_member
from store.benefits import Figures, entry
from store.crypto import Cipher
from store.models import (
    ArchiveSequence,
    BenefitHistory,
    Household,
    IdClaim,
    Member,
    Region,
    Review,
    new_id,
)
from store.workflow import schedule_review

_BEIJING = dt.timezone(dt.timedelta(hours=8))
_IN = 900  # values per IN (...) list: under SQLite's bound-parameter limit


async def claim_counties(session: AsyncSession, counties: Collection[str], *, wait: bool) -> bool:
    """Take the imports' lock on each county (in code order, so two imports taking
    several cannot wait on each other in a ring) until the transaction ends. Two
    imports into one county, each in several statements, could otherwise take the
    county's tally rows (migration 0026) in opposite orders and deadlock. `wait=False`
    answers False when another transaction holds one."""
    for county in sorted(set(counties)):
        if not await locks.hold(session, locks.IMPORTS, county, wait=wait):
            return False
    return True


def _slices(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _IN] for i in range(0, len(values), _IN)]


async def villages_in_scope(session: AsyncSession, codes: Collection[str], scope: str) -> set[str]:
    """The codes that name a village inside `scope`."""
    found: set[str] = set()
    for part in _slices(sorted(codes)):
        rows = await session.scalars(
            select(Region.code).where(Region.code.in_(part), Region.level == "VILLAGE")
        )
        found.update(code for code in rows if in_scope(code, scope))
    return found


async def already_imported(
    session: AsyncSession, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(county, legacy number) -> the archive number it was imported as."""
    wanted = set(keys)
    found: dict[tuple[str, str], str] = {}
    for part in _slices(sorted({legacy for _, legacy in wanted})):
        rows = await session.execute(
            select(Household.legacy_archive_no, Household.village_code, Household.archive_no)
            .where(Household.legacy_archive_no.in_(part))
        )  # fmt: skip
        for legacy, village, archive_no in rows:
            key = (village[:6], str(legacy))
            if key in wanted:
                found[key] = archive_no
    return found


async def claimed(session: AsyncSession, indexes: Collection[bytes]) -> set[bytes]:
    """The blind indexes held by a pending or active household (the nationwide claim)."""
    found: set[bytes] = set()
    for part in _slices(sorted(indexes)):
        found.update(
            await session.scalars(select(IdClaim.id_index).where(IdClaim.id_index.in_(part)))
        )
    return found


async def _allocate(session: AsyncSession, villages: Counter[str], year: int) -> dict[str, int]:
    """The first of `n` new sequence numbers per village, one upsert per village (the row
    lock serialises concurrent allocations, as in allocate_archive_no)."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    seq = ArchiveSequence
    first: dict[str, int] = {}
    for village, n in sorted(villages.items()):
        stmt = (
            upsert(seq)
            .values(village_code=village, year=year, last_value=n)
            .on_conflict_do_update(
                index_elements=[seq.village_code, seq.year],
                set_={"last_value": seq.last_value + n},
            )
            .returning(seq.last_value)
        )
        last = int((await session.execute(stmt)).scalar_one())
        first[village] = last - n + 1
    return first


def _row(obj: Any) -> dict[str, Any]:
    """An unsaved ORM object as the row a multi-row insert takes; ids as a flush gives them."""
    row = {c.key: getattr(obj, c.key) for c in obj.__table__.columns}
    if "id" in row and row["id"] is None:
        row["id"] = new_id()
    return row


@dataclass(frozen=True, slots=True)
class Written:
    archive_nos: list[str]
    members: int


async def write_households(
    session: AsyncSession,
    cipher: Cipher,
    households: Sequence[ValidHousehold],
    *,
    actor: str,
    actor_role: str,
    source_sha256: str,
    now: dt.datetime,
    review_months: dict[ReviewClass, int] | None = None,
    held_for_confirmation: bool = False,
) -> Written:
    """Insert the households, their members, ID claims, IMPORTED steps and benefits.

    `held_for_confirmation` (an import through the API): a household the register
    says is paid comes in SUSPENDED, paid only once a county reviewer other than the
    importer resumes it (store/workflow.py), as an approval is a second person's act.

    Every household was checked before (domain.legacy, and the reads above): a
    constraint that still fails here (a claim or legacy number taken meanwhile) raises
    IntegrityError and the caller's transaction takes nothing of the chunk.
    """
    today = now.astimezone(_BEIJING).date()
    first = await _allocate(
        session, Counter(h.application.village_code for h in households), now.year
    )
    tables: dict[str, list[dict[str, Any]]] = {
        "households": [],
        "members": [],
        "id_claims": [],
        "reviews": [],
        "benefit_history": [],
    }
    archive_nos = []
    for valid in households:
        app = valid.application
        archive_no = format_archive_no(app.village_code, now.year, first[app.village_code])
        first[app.village_code] += 1
        archive_nos.append(archive_no)
        paid = valid.status in PAID
        status = (
            HouseholdStatus.SUSPENDED
            if held_for_confirmation and valid.status is HouseholdStatus.ACTIVE
            else valid.status
        )
        household = Household(
            archive_no=archive_no,
            village_code=app.village_code,
            area=valid.area.value,
            status=status.value,
            address=app.address,
            bank_name=app.bank_name,
            bank_account_enc=(
                cipher.encrypt(
                    app.bank_account, table="households", column="bank_account", row_id=archive_no
                )
                if app.bank_account
                else None
            ),
            monthly_benefit=valid.benefit if paid else None,
            review_class=None,
            version=1,
            applied_at=dt.datetime.combine(valid.approved_on, dt.time(), _BEIJING),
            status_changed_at=now,
            created_at=now,
            updated_at=now,
            created_by=actor,
            next_review_on=None,
            decided_on=valid.approved_on,
            single_person_cover=False,
            marginal=False,
            legacy_archive_no=valid.legacy_no,
        )
        members = [
            sealed_member(cipher, m, archive_no=archive_no, position=i)
            for i, m in enumerate(app.members)
        ]
        if paid:
            # the first periodic check one interval after the archive enters the service
            schedule_review(household, members, today=today, review_months=review_months)
            if valid.benefit is None:
                raise ValueError("a paid household comes with its benefit (domain.legacy)")
            benefit = entry(
                archive_no,
                valid.benefit,
                day=next_month_start(today),
                figures=Figures.of([m.monthly_income for m in app.members]),
                reason=f"imported from a legacy register (SHA-256 {source_sha256})",
                actor=actor,
                now=now,
            )
            tables["benefit_history"].append(_row(benefit))
            tables["id_claims"].extend(
                {"id_index": ix, "archive_no": archive_no, "member_id": m.id, "claimed_at": now}
                for m, valid_member in zip(members, app.members, strict=True)
                for ix in cipher.blind_indexes(valid_member.id_info.number)
            )
        tables["households"].append(_row(household))
        tables["members"].extend(_row(m) for m in members)
        review = Review(
            archive_no=archive_no,
            step=Step.IMPORTED.value,
            from_status=None,
            to_status=status.value,
            actor=actor,
            actor_role=actor_role,
            reason=(
                f"从旧系统台账导入：原档案编号 {valid.legacy_no}，源文件 SHA-256 {source_sha256}"
            ),
            details={
                "source_sha256": source_sha256,
                "legacy_archive_no": valid.legacy_no,
                "approved_on": valid.approved_on.isoformat(),
            },
            created_at=now,
        )
        tables["reviews"].append(_row(review))
    order = (Household, Member, IdClaim, Review, BenefitHistory)
    for model in order:
        rows = tables[model.__tablename__]
        if rows:
            await session.execute(insert(model), rows)
    return Written(archive_nos=archive_nos, members=len(tables["members"]))
