"""Transaction-scoped advisory locks on PostgreSQL, in one key space per use.

`pg_advisory_xact_lock(class, key)`: the class keeps one use's keys apart from
another's, so every class is listed here (migration 0025's trigger uses 22023 for the
duplicates table's buckets, in SQL). On SQLite every write transaction begins
IMMEDIATE and runs alone across processes, so no lock is needed and each call holds.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

DUPLICATES: Final = 22023  # migration 0025 (its trigger takes it itself)
EXPORTS: Final = 22024  # one export written at a time per principal
IMPORTS: Final = 22025  # one import at a time per county


async def hold(session: AsyncSession, lock_class: int, key: str, *, wait: bool) -> bool:
    """Take the lock (`class`, hash of `key`) until the transaction ends: waiting for
    it, or (`wait=False`) answering False at once when another transaction holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    take = func.pg_advisory_xact_lock if wait else func.pg_try_advisory_xact_lock
    held = await session.scalar(select(take(lock_class, func.hashtext(bindparam("key", key)))))
    return wait or bool(held)
