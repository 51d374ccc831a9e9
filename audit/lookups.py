"""Lookups by ID number in the audit log: recorded by blind index, searchable, alerting.

An entry's `lookups` name each person looked up (verifyRecipient) or claimed by an
application, by the HMAC blind index of the ID number, never the number. Each
gets a row in the archive index table keyed `ix:` + a prefix of the index, so
"who looked up this person" is an indexed query like "who read household X".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import fields as F
from store.models import AuditArchive, AuditEntry

KEY_PREFIX = "ix:"
KEY_HEX = 21  # 84 bits of the index: fits the archive-number column, collisions negligible
MAX_ALERT_ROWS = 200_000


def search_key(blind_index_hex: str) -> str:
    return KEY_PREFIX + blind_index_hex[:KEY_HEX]


def search_keys(entry: dict[str, Any]) -> set[str]:
    """The index rows an entry's lookups add (verification recomputes them)."""
    return {search_key(str(found[F.LOOKUP_BLIND_INDEX])) for found in entry.get(F.LOOKUPS) or ()}


def lookup(
    kind: str, blind_index: bytes, *, found: bool, county: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        F.LOOKUP_KIND: kind,
        F.LOOKUP_BLIND_INDEX: blind_index.hex(),
        F.LOOKUP_FOUND: found,
    }
    if county is not None:
        item[F.LOOKUP_COUNTY] = county
    return item


def is_alerting(item: dict[str, Any]) -> bool:
    """A miss of a verification or a search, an application refused because the ID is
    claimed, or a claim checked by a request that then rolled back: what an
    enumeration of ID numbers produces in runs."""
    if item.get(F.LOOKUP_KIND) == F.LOOKUP_CLAIM:
        return bool(item.get(F.LOOKUP_FOUND) or item.get(F.LOOKUP_PROBE))
    return not item.get(F.LOOKUP_FOUND)


def is_conflict(item: dict[str, Any]) -> bool:
    return item.get(F.LOOKUP_KIND) == F.LOOKUP_CLAIM and bool(item.get(F.LOOKUP_FOUND))


def as_probe(item: dict[str, Any]) -> dict[str, Any]:
    """A claim checked and found free in a request that did not commit."""
    return {**item, F.LOOKUP_PROBE: True}


@dataclass(frozen=True, slots=True)
class LookupTally:
    principal: str | None
    role: str | None
    credential_id: str | None
    lookups: int
    misses: int
    conflicts: int
    first_at: dt.datetime
    last_at: dt.datetime


async def lookup_tallies(
    session: AsyncSession, *, since: dt.datetime, until: dt.datetime
) -> list[LookupTally]:
    """Lookups, verification misses and claim conflicts per credential in a window."""
    with_lookups = (
        select(AuditArchive.seq).where(AuditArchive.archive_no.startswith(KEY_PREFIX)).distinct()
    )
    rows = await session.execute(
        select(AuditEntry.time, AuditEntry.entry)
        .where(
            AuditEntry.time >= since,
            AuditEntry.time < until,
            AuditEntry.seq.in_(with_lookups),
        )
        .order_by(AuditEntry.seq)
        .limit(MAX_ALERT_ROWS)
    )
    tallies: dict[str | None, dict[str, Any]] = {}
    for time, body in rows.all():
        entry = orjson.loads(body)
        items: Iterable[dict[str, Any]] = entry.get(F.LOOKUPS) or ()
        tally = tallies.setdefault(
            entry.get(F.CREDENTIAL_ID),
            {
                "principal": entry.get(F.PRINCIPAL),
                "role": entry.get(F.ROLE),
                "lookups": 0,
                "misses": 0,
                "conflicts": 0,
                "first_at": time,
            },
        )
        tally["last_at"] = time
        for item in items:
            tally["lookups"] += 1
            if is_alerting(item):
                kind = "conflicts" if is_conflict(item) else "misses"  # probes are misses
                tally[kind] += 1
    return [
        LookupTally(credential_id=credential, **values)
        for credential, values in sorted(tallies.items(), key=lambda kv: str(kv[0]))
    ]
