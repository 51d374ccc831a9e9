"""Writing a new application: household, members, ID claims and the first review step,

all in the caller's transaction, so a failure at any point leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.application import ValidApplication, ValidMember
from domain.archive import format_archive_no
from domain.benefit import MARGINAL_MULTIPLE, under_edge_line
from domain.enums import Area, HouseholdStatus
from domain.errors import Conflict, InvalidInput
from domain.region import in_scope as code_in_scope
from domain.region import level_of
from store.crypto import Cipher
from store.households import standards_in_force
from store.models import (
    ArchiveSequence,
    Asset,
    Household,
    IdClaim,
    Member,
    Region,
    Review,
    new_id,
)

_BEIJING = dt.timezone(dt.timedelta(hours=8))  # the archive's dates are Beijing dates
# Called with the blind index (current key) of every ID number about to be checked for
# a claim, before the check runs. "Is this person claimed anywhere?" is an answer
# about a full ID number like verifyRecipient's: the caller charges it against the
# lookup quota (raising to refuse) and records it for the audit entry.
BeforeClaimCheck = Callable[[list[bytes]], None]


async def allocate_archive_no(session: AsyncSession, *, village_code: str, year: int) -> str:
    """Next archive number for a village and year, in one atomic upsert.

    On PostgreSQL the conflicting row is locked until the transaction ends, so
    concurrent allocations queue and each gets its own number; a rolled-back
    transaction leaves its number unused, never handed out twice.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    seq = ArchiveSequence
    upsert = insert(seq).values(village_code=village_code, year=year, last_value=1)
    stmt = upsert.on_conflict_do_update(
        index_elements=[seq.village_code, seq.year],
        set_={"last_value": seq.last_value + 1},
    ).returning(seq.last_value)
    sequence = (await session.execute(stmt)).scalar_one()
    return format_archive_no(village_code, year, int(sequence))


def sealed_member(cipher: Cipher, valid: ValidMember, *, archive_no: str, position: int) -> Member:
    """A member row with its personal values sealed to it (AAD: its own id)."""
    member_id = new_id()

    def seal(value: str, column: str) -> bytes:
        return cipher.encrypt(value, table="members", column=column, row_id=member_id)

    return Member(
        id=member_id,
        archive_no=archive_no,
        position=position,
        relation=valid.draft.relation.value,
        name_enc=seal(valid.name, "name"),
        id_number_enc=seal(valid.id_info.number, "id_number"),
        id_index=cipher.blind_index(valid.id_info.number),
        sex=valid.sex.value,
        birth_date=valid.id_info.birth_date,
        phone_enc=seal(valid.phone, "phone") if valid.phone else None,
        monthly_income=valid.monthly_income,
        disability_grade=valid.draft.disability_grade,
        disability_kind=(
            None if valid.draft.disability_kind is None else valid.draft.disability_kind.value
        ),
        serious_illness=valid.draft.serious_illness,
        student=valid.draft.student,
        staff_relative=valid.draft.staff_relative,
        covered=valid.draft.covered,
        active=True,
    )


async def submit_application(
    session: AsyncSession,
    cipher: Cipher,
    *,
    application: ValidApplication,
    scope: str,
    actor: str,
    actor_role: str,
    now: dt.datetime,
    before_claim_check: BeforeClaimCheck,
    today: dt.date | None = None,
    marginal_multiple: Decimal = MARGINAL_MULTIPLE,
) -> Household:
    village = await session.get(Region, application.village_code)
    if (
        village is None
        or level_of(village.code) != "VILLAGE"
        or not code_in_scope(village.code, scope)
    ):
        raise InvalidInput("villageCode: no such village in your region", field="villageCode")
    area = "URBAN" if int(village.code[9:]) < 200 else "RURAL"
    if application.single_person_cover:
        await _check_edge_line(
            session, application, county=village.code[:6], area=Area(area),
            today=today or now.astimezone(_BEIJING).date(),
            multiple=marginal_multiple,
        )  # fmt: skip
    archive_no = await allocate_archive_no(session, village_code=village.code, year=now.year)
    household = Household(
        archive_no=archive_no,
        village_code=village.code,
        area=area,
        status=HouseholdStatus.SUBMITTED.value,
        address=application.address,
        bank_name=application.bank_name,
        bank_account_enc=(
            cipher.encrypt(
                application.bank_account,
                table="households",
                column="bank_account",
                row_id=archive_no,
            )
            if application.bank_account
            else None
        ),
        applied_at=now,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
        created_by=actor,
        single_person_cover=application.single_person_cover,
    )
    session.add(household)
    members = [
        sealed_member(cipher, valid, archive_no=archive_no, position=position)
        for position, valid in enumerate(application.members)
    ]
    session.add_all(members)
    await session.flush()
    session.add_all(
        Asset(
            archive_no=archive_no,
            kind=asset.kind.value,
            description=asset.description,
            value=asset.value,
        )
        for asset in application.assets
    )
    await claim_ids(
        session,
        cipher,
        members=members,
        archive_no=archive_no,
        scope=scope,
        now=now,
        before_check=before_claim_check,
    )
    session.add(
        Review(
            archive_no=archive_no,
            step="SUBMIT",
            from_status=None,
            to_status=HouseholdStatus.SUBMITTED.value,
            actor=actor,
            actor_role=actor_role,
            reason="application submitted",
            created_at=now,
        )
    )
    await session.flush()
    return household


async def _check_edge_line(
    session: AsyncSession,
    application: ValidApplication,
    *,
    county: str,
    area: Area,
    today: dt.date,
    multiple: Decimal,
) -> None:
    """单人保 is for households under the edge line (57号): refused before anything is
    written, with the reason and no figure of the household's."""
    standard = await standards_in_force(session, county_code=county, area=area, on=today)
    if standard is None:
        raise InvalidInput(
            "members.covered: no local standard in force to measure the edge line against",
            field="members",
        )
    incomes = [m.monthly_income for m in application.members]
    if not under_edge_line(standard.monthly_amount, incomes, multiple):
        raise InvalidInput(
            "members.covered: single-person cover (单人保) needs the household's per-capita "
            f"income under the edge line ({multiple} × the local standard)",
            field="members",
        )


async def claim_ids(
    session: AsyncSession,
    cipher: Cipher,
    *,
    members: list[Member],
    archive_no: str,
    scope: str,
    now: dt.datetime,
    before_check: BeforeClaimCheck,
) -> None:
    """Claim every member's ID number; a clash with another household is a CONFLICT.

    `before_check` sees every ID number (by blind index) before the one query that
    checks them all: each is an answer the caller receives, so each is charged.

    The check reads first to give a helpful answer; the primary key on the
    blind index is what makes it hold under concurrent submissions. A claim is
    a row per index key version this process knows: during a key rotation two
    processes may disagree on the current version, but both know the old one,
    so two claims of one person still meet on a primary key.
    """
    per_member = {
        m.id: cipher.blind_indexes(
            cipher.decrypt(m.id_number_enc, table="members", column="id_number", row_id=m.id)
        )
        for m in members
    }
    before_check([found[0] for found in per_member.values()])
    indexes = [ix for found in per_member.values() for ix in found]
    clash = (
        await session.execute(
            select(IdClaim.archive_no, Household.village_code, IdClaim.id_index)
            .join(Household, Household.archive_no == IdClaim.archive_no)
            .where(IdClaim.id_index.in_(indexes))
            .limit(1)
        )
    ).first()
    if clash is None:
        session.add_all(
            IdClaim(id_index=ix, archive_no=archive_no, member_id=m.id, claimed_at=now)
            for m in members
            for ix in per_member[m.id]
        )
        try:
            await session.flush()
        except IntegrityError:
            clash = None  # lost a race: the whole transaction is rolled back by the caller
        else:
            return
    raise _duplicate(clash, scope, list(per_member.values()))


class ClaimConflict(Conflict):
    """An ID number already claimed: the answer says so, and no more outside the caller's
    region. Which person (blind index) and which county are kept for the audit log."""

    def __init__(self, message: str, *, id_index: bytes | None, county: str | None) -> None:
        super().__init__(message, field="idNumber")
        self.id_index = id_index
        self.county = county


def _duplicate(
    clash: Row[str, str, bytes] | None, scope: str, per_member: list[tuple[bytes, ...]]
) -> ClaimConflict:
    if clash is not None:
        other_archive, other_village, held = clash
        # named by its current-key index, as the check was recorded, whichever key
        # version the claim row was written under
        id_index = next((found[0] for found in per_member if held in found), held)
        if code_in_scope(other_village, scope):
            return ClaimConflict(
                f"idNumber: already held by pending or active household {other_archive}",
                id_index=id_index,
                county=other_village[:6],
            )
        return ClaimConflict(
            "idNumber: already held by a pending or active household elsewhere",
            id_index=id_index,
            county=other_village[:6],
        )
    # lost a race on the primary key: which row won is not known in this transaction
    return ClaimConflict(
        "idNumber: already held by a pending or active household elsewhere",
        id_index=None,
        county=None,
    )
