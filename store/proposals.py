"""Policy changes held for a second secadmin (four eyes): stored, listed, decided.

The status moves once, from PENDING, by a conditional update: two secadmins
deciding the same proposal at the same moment cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import ProposalStatus
from store.models import PolicyProposal

Rule = tuple[str, ...]


def change_of(row: PolicyProposal) -> tuple[list[Rule], list[Rule]]:
    """(rules to add, rules to remove) of a stored proposal."""
    return (
        [tuple(rule) for rule in row.change.get("add", [])],
        [tuple(rule) for rule in row.change.get("remove", [])],
    )


async def create(
    session: AsyncSession,
    *,
    add: Sequence[Rule],
    remove: Sequence[Rule],
    proposer: str,
    now: dt.datetime,
    base_version: int,
    widened: list[list[str]],
    widened_count: int,
    widened_digest: str,
) -> PolicyProposal:
    row = PolicyProposal(
        change={"add": [list(r) for r in add], "remove": [list(r) for r in remove]},
        proposer=proposer,
        proposed_at=now,
        base_version=base_version,
        status=ProposalStatus.PENDING.value,
        widened=widened,
        widened_count=widened_count,
        widened_digest=widened_digest,
    )
    session.add(row)
    await session.flush()
    return row


def threshold_of(row: PolicyProposal) -> dict[str, Any] | None:
    """{rule, role, from, to} of a proposal that loosens an alert threshold; None for a
    change of the policy's rules."""
    found = row.change.get("threshold")
    return dict(found) if isinstance(found, dict) else None


async def create_threshold(
    session: AsyncSession,
    *,
    change: dict[str, Any],
    proposer: str,
    now: dt.datetime,
    base_version: int,
    widened: list[str],
) -> PolicyProposal:
    """Hold a loosened alert threshold; the same change already pending is that one."""
    rows = await session.scalars(
        select(PolicyProposal).where(PolicyProposal.status == ProposalStatus.PENDING.value)
    )
    for row in rows:
        if row.change.get("threshold") == change:
            return row
    row = PolicyProposal(
        change={"add": [], "remove": [], "threshold": change},
        proposer=proposer,
        proposed_at=now,
        base_version=base_version,
        status=ProposalStatus.PENDING.value,
        widened=[widened],
        widened_count=1,
        widened_digest=hashlib.sha256(
            orjson.dumps(change, option=orjson.OPT_SORT_KEYS)
        ).hexdigest(),
    )
    session.add(row)
    await session.flush()
    return row


async def pending_with_change(
    session: AsyncSession, *, add: Sequence[Rule], remove: Sequence[Rule]
) -> PolicyProposal | None:
    """A pending proposal of the very same change, if there is one."""
    wanted = ([list(r) for r in add], [list(r) for r in remove])
    rows = await session.scalars(
        select(PolicyProposal).where(PolicyProposal.status == ProposalStatus.PENDING.value)
    )
    for row in rows:
        if "threshold" in row.change:
            continue
        if (row.change.get("add", []), row.change.get("remove", [])) == wanted:
            return row
    return None


async def get(session: AsyncSession, proposal_id: str) -> PolicyProposal | None:
    return await session.get(PolicyProposal, proposal_id)


async def listed(
    session: AsyncSession, *, status: ProposalStatus | None, limit: int
) -> Sequence[PolicyProposal]:
    query = select(PolicyProposal).order_by(
        PolicyProposal.proposed_at.desc(), PolicyProposal.id.desc()
    )
    if status is not None:
        query = query.where(PolicyProposal.status == status.value)
    return (await session.scalars(query.limit(limit))).all()


async def decide(
    session: AsyncSession,
    row: PolicyProposal,
    *,
    status: ProposalStatus,
    actor: str,
    now: dt.datetime,
    note: str | None,
) -> bool:
    """Move a PENDING proposal to `status`; False when someone decided it first."""
    result = await session.execute(
        update(PolicyProposal)
        .where(
            PolicyProposal.id == row.id,
            PolicyProposal.status == ProposalStatus.PENDING.value,
        )
        .values(status=status.value, decided_by=actor, decided_at=now, note=note)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    await session.refresh(row)
    return True
