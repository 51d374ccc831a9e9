"""Policy rules in the database: read for the enforcer, changed only by secadmin.

Every change bumps `policy_state.version` in the same transaction; running
servers poll that version and reload, so a change is enforced everywhere
without a restart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import PolicyHistory, PolicyRule, PolicyShipped, PolicyState


def rule_rows(rules: Iterable[Sequence[str]]) -> list[dict[str, str]]:
    """Rules as `policy_rules` rows (used by the migration that seeds the default)."""
    rows = []
    for rule in rules:
        padded = [*rule[1:], "", "", "", "", "", ""][:6]
        rows.append({"ptype": rule[0], **{f"v{i}": v for i, v in enumerate(padded)}})
    return rows


def rule_tuple(row: PolicyRule) -> tuple[str, ...]:
    values = [row.v0, row.v1, row.v2, row.v3, row.v4, row.v5]
    while values and values[-1] == "":
        values.pop()
    return (row.ptype, *values)


async def policy_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(PolicyState.version).where(PolicyState.id == 1)) or 0)


async def load_rules(session: AsyncSession) -> tuple[int, list[tuple[str, ...]]]:
    version = await policy_version(session)
    rows = (await session.scalars(select(PolicyRule).order_by(PolicyRule.id))).all()
    return version, [rule_tuple(r) for r in rows]


async def find_rule(session: AsyncSession, rule: Sequence[str]) -> PolicyRule | None:
    ptype, *values = rule
    padded = [*values, "", "", "", "", "", ""][:6]
    return await session.scalar(
        select(PolicyRule).where(
            PolicyRule.ptype == ptype,
            PolicyRule.v0 == padded[0],
            PolicyRule.v1 == padded[1],
            PolicyRule.v2 == padded[2],
            PolicyRule.v3 == padded[3],
            PolicyRule.v4 == padded[4],
            PolicyRule.v5 == padded[5],
        )
    )


async def _bump(session: AsyncSession, *, actor: str, now: dt.datetime) -> None:
    await session.execute(
        update(PolicyState)
        .where(PolicyState.id == 1)
        .values(version=PolicyState.version + 1, updated_at=now, updated_by=actor)
    )


async def add_rule(
    session: AsyncSession, rule: Sequence[str], *, actor: str, now: dt.datetime
) -> bool:
    """Add a rule; False when it was already there (nothing changes then)."""
    if await find_rule(session, rule) is not None:
        return False
    ptype, *values = rule
    padded = [*values, "", "", "", "", "", ""][:6]
    session.add(PolicyRule(ptype=ptype, **{f"v{i}": v for i, v in enumerate(padded)}))
    session.add(PolicyHistory(at=now, actor=actor, change="add", rule=rule_key(rule)))
    await _bump(session, actor=actor, now=now)
    return True


async def remove_rule(
    session: AsyncSession, rule: Sequence[str], *, actor: str, now: dt.datetime
) -> bool:
    found = await find_rule(session, rule)
    if found is None:
        return False
    await session.delete(found)
    session.add(PolicyHistory(at=now, actor=actor, change="remove", rule=rule_key(rule)))
    await _bump(session, actor=actor, now=now)
    return True


def rule_key(rule: Sequence[str]) -> str:
    padded = [*rule[1:], "", "", "", "", "", ""][:6]
    return ",".join([rule[0], *padded])


async def sync_shipped(
    session: AsyncSession,
    shipped: Sequence[Sequence[str]],
    *,
    now: dt.datetime,
    announce: bool = True,
) -> int:
    """Add the shipped default rules this database has never had; returns how many.

    A rule once applied is remembered, so one a secadmin removed stays removed;
    a release that tightens the default must say so in a migration. `announce`:
    bump the policy version so running servers reload (not for a new database).
    """
    seen = set((await session.scalars(select(PolicyShipped.rule))).all())
    added = 0
    for rule in shipped:
        key = rule_key(rule)
        if key in seen:
            continue
        seen.add(key)
        session.add(PolicyShipped(rule=key))
        if await find_rule(session, rule) is None:
            padded = [*rule[1:], "", "", "", "", "", ""][:6]
            session.add(PolicyRule(ptype=rule[0], **{f"v{i}": v for i, v in enumerate(padded)}))
            added += 1
    if added and announce:
        await _bump(session, actor="release", now=now)
    await session.flush()
    return added
