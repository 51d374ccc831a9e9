"""Misuse alerts for the security officers: list, acknowledge, tune the thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit import alerts as store
from domain.alerts import ANY_ROLE, MAX_THRESHOLD, AlertRule, AlertStatus, loosens, shown
from domain.alerts import threshold as current_threshold
from domain.enums import Role
from domain.errors import InvalidInput
from resolvers.admin import PolicyChange
from resolvers.chain import row_id, text_of
from resolvers.context import Info
from store import policy as policy_store
from store import proposals as proposal_store
from store.models import Alert

MAX_ALERTS = 200


@dataclass(frozen=True, slots=True)
class Threshold:
    rule: AlertRule
    role: str
    threshold: int


async def alerts(
    info: Info, status: AlertStatus | None = AlertStatus.OPEN, newest: int = 50
) -> Sequence[Alert]:
    if not 1 <= newest <= MAX_ALERTS:
        raise InvalidInput(f"newest: 1 to {MAX_ALERTS}", field="newest")
    async with info.context.reading() as session:
        return await store.listed(session, status=status, first=newest)


async def acknowledge_alert(info: Info, id: str, note: str) -> Alert:
    ctx = info.context
    checked = row_id(str(id), "id")
    async with ctx.writing() as session:
        return await store.acknowledge(
            session,
            alert_id=checked,
            note=text_of(note, "note"),
            actor=ctx.principal.name,
            now=ctx.now,
        )


def _sorted(found: dict[tuple[AlertRule, str], int]) -> list[Threshold]:
    return [Threshold(rule, role, value) for (rule, role), value in sorted(found.items())]


async def alert_thresholds(info: Info) -> list[Threshold]:
    async with info.context.reading() as session:
        return _sorted(await store.thresholds(session))


async def set_alert_threshold(
    info: Info, rule: AlertRule, role: str, threshold: int
) -> PolicyChange:
    """A stricter threshold applies at once; a looser one (higher, or 0: off) lets misuse
    go unnoticed and waits, like a widening of the policy, for a second secadmin."""
    if role != ANY_ROLE and role not in {r.value for r in Role}:
        raise InvalidInput(f"role: a role of this service, or {ANY_ROLE}", field="role")
    if not 0 <= threshold <= MAX_THRESHOLD:
        raise InvalidInput(f"threshold: 0 (off) to {MAX_THRESHOLD}", field="threshold")
    ctx = info.context
    async with ctx.writing() as session:
        version = await policy_store.policy_version(session)
        current = current_threshold(await store.thresholds(session), rule, role)
        if current == threshold:
            return PolicyChange(changed=False, version=version)
        if loosens(current, threshold):
            proposal = await proposal_store.create_threshold(
                session,
                change={"rule": rule.value, "role": role, "from": current, "to": threshold},
                proposer=ctx.principal.name,
                now=ctx.now,
                base_version=version,
                widened=[
                    role,
                    ANY_ROLE,
                    f"AlertRule.{rule.value}",
                    shown(current),
                    shown(threshold),
                ],
            )
            return PolicyChange(changed=False, version=version, applied=False, proposal=proposal)
        await store.set_threshold(
            session, rule=rule, role=role, value=threshold, actor=ctx.principal.name, now=ctx.now
        )
    return PolicyChange(changed=True, version=version)
