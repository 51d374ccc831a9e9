"""Re-encryption and re-indexing after a key rotation, in batches, while the service runs.

Every encrypted column is read in primary-key order, a batch at a time; values
sealed under an older key version are opened and sealed again under the current
one, and blind indexes are recomputed. Each row is written back only if it still
holds what was read (a concurrent change already used the current key), and each
batch commits on its own, so the service keeps serving and a stopped run resumes
where it left off when started again. ID claims get a row under the current
index version next to the old one (see `store.applications.claim_ids`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.idnumber import normalize_id_number
from store.crypto import Cipher
from store.models import Household, IdClaim, Member, Payment, VerificationSubject

BATCH = 500

# table -> (primary key column, encrypted columns)
ENCRYPTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "members": ("id", ("name", "id_number", "phone")),
    "households": ("archive_no", ("bank_account",)),
    "payments": ("id", ("bank_account",)),
    "verification_subjects": ("id", ("findings",)),
}
TABLES: dict[str, Table] = {
    "members": Member.__table__,  # type: ignore[dict-item]
    "households": Household.__table__,  # type: ignore[dict-item]
    "payments": Payment.__table__,  # type: ignore[dict-item]
    "verification_subjects": VerificationSubject.__table__,  # type: ignore[dict-item]
}


@dataclass
class RekeyReport:
    version: int
    rows_seen: dict[str, int] = field(default_factory=dict)
    rows_rewritten: dict[str, int] = field(default_factory=dict)
    rows_skipped: int = 0  # changed by someone else meanwhile (already current)
    claims_added: int = 0


async def count_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        total = 0
        for table in TABLES.values():
            total += int(await conn.scalar(select(func.count()).select_from(table)) or 0)
        return total


async def rekey(
    engine: AsyncEngine, cipher: Cipher, *, progress: Callable[[int], None] | None = None
) -> RekeyReport:
    report = RekeyReport(version=cipher.keys.current_version)
    for name, table in TABLES.items():
        key_name, columns = ENCRYPTED[name]
        key = table.c[key_name]
        last: Any = None
        while True:
            async with engine.begin() as conn:
                stmt = select(table).order_by(key).limit(BATCH)
                if last is not None:
                    stmt = stmt.where(key > last)
                rows = (await conn.execute(stmt)).mappings().all()
                if not rows:
                    break
                indexes: dict[str, bytes] = {}
                for row in rows:
                    changes = _changes(cipher, name, columns, row, indexes)
                    if changes:
                        guard = and_(
                            key == row[key_name],
                            *(table.c[c] == row[c] for c in changes),
                        )
                        done = await conn.execute(update(table).where(guard).values(**changes))
                        if done.rowcount == 1:
                            report.rows_rewritten[name] = report.rows_rewritten.get(name, 0) + 1
                        else:
                            report.rows_skipped += 1
                if indexes:
                    report.claims_added += await _claim_current(conn, indexes)
                last = rows[-1][key_name]
                report.rows_seen[name] = report.rows_seen.get(name, 0) + len(rows)
            if progress is not None:
                progress(len(rows))
    return report


def _changes(
    cipher: Cipher, table: str, columns: tuple[str, ...], row: Any, indexes: dict[str, bytes]
) -> dict[str, bytes]:
    row_id = str(row[ENCRYPTED[table][0]])
    changes: dict[str, bytes] = {}
    for column in columns:
        blob = row[f"{column}_enc"]
        if blob is None or cipher.is_current(blob):
            continue
        plain = cipher.decrypt(blob, table=table, column=column, row_id=row_id)
        changes[f"{column}_enc"] = cipher.encrypt(plain, table=table, column=column, row_id=row_id)
    if table == "members":
        number = cipher.decrypt(
            row["id_number_enc"], table="members", column="id_number", row_id=row_id
        )
        index = cipher.blind_index(normalize_id_number(number))
        indexes[row_id] = index
        if row["id_index"] != index:
            changes["id_index"] = index
    return changes


async def _claim_current(conn: Any, indexes: dict[str, bytes]) -> int:
    """Each claiming member's claim under the current index version, next to its
    older ones (one read and one insert per batch)."""
    claims = (
        await conn.execute(
            select(
                IdClaim.member_id, IdClaim.archive_no, IdClaim.claimed_at, IdClaim.id_index
            ).where(IdClaim.member_id.in_(list(indexes)))
        )
    ).all()
    held: dict[str, Any] = {}
    current: set[str] = set()
    for claim in claims:
        held.setdefault(claim.member_id, claim)
        if claim.id_index == indexes[claim.member_id]:
            current.add(claim.member_id)
    missing = [
        {
            "id_index": indexes[member_id],
            "archive_no": claim.archive_no,
            "member_id": member_id,
            "claimed_at": claim.claimed_at,
        }
        for member_id, claim in held.items()
        if member_id not in current
    ]
    if missing:
        await conn.execute(insert(IdClaim), missing)
    return len(missing)
