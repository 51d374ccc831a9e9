"""Four eyes on widening: a policy change that broadens access waits for a second secadmin.

Whether a change widens is decided by policies/widening.py on the whole policy
before and after, never by reading the rule. A narrowing change, or one that
alters nothing, applies at once (resolvers/admin.py). A widening one is stored
as a PENDING proposal with what it widens; approval judges it again on the
policy in force then, and refuses it as stale when it would now widen anything
other than what the second secadmin is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit import alerts
from domain.alerts import AlertRule, threshold
from domain.enums import ProposalStatus
from domain.errors import Conflict, InvalidInput, NotFound
from policies import widening
from policies.rules import refuse_masked_id_conflicts
from resolvers.context import Info
from store import policy as policy_store
from store import proposals as store
from store.models import PolicyProposal

Rule = tuple[str, ...]
SHOWN_WIDENINGS = 50  # decisions kept per proposal for display; the digest covers all
LIST_LIMIT = 50  # proposals per listing, newest first (a listing is priced by its bound)
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class Judgement:
    """A change judged on the policy in force: the rules after it, what it widens."""

    version: int
    before: list[Rule]
    after: list[Rule]
    widened: list[widening.Widening]

    @property
    def alters(self) -> bool:
        return self.after != self.before


async def judge(
    info: Info, session: AsyncSession, *, add: Sequence[Rule], remove: Sequence[Rule]
) -> Judgement:
    version, rules = await policy_store.load_rules(session)
    before = [tuple(r) for r in rules]
    after = widening.apply(before, add=add, remove=remove)
    if after == before:
        return Judgement(version, before, after, [])
    # refused whatever its route: a proposal that could never be approved is not kept
    refuse_masked_id_conflicts(after)
    found = widening.widenings(
        before, after, changed=[*add, *remove], objects=info.schema.policy_objects()
    )
    return Judgement(version, before, after, found)


async def propose(
    info: Info,
    session: AsyncSession,
    judgement: Judgement,
    *,
    add: Sequence[Rule],
    remove: Sequence[Rule],
) -> PolicyProposal:
    """Hold a widening change; the same change already pending is that proposal."""
    pending = await store.pending_with_change(session, add=add, remove=remove)
    if pending is not None:
        return pending
    ctx = info.context
    return await store.create(
        session,
        add=add,
        remove=remove,
        proposer=ctx.principal.name,
        now=ctx.now,
        base_version=judgement.version,
        widened=[w.as_list() for w in judgement.widened[:SHOWN_WIDENINGS]],
        widened_count=len(judgement.widened),
        widened_digest=widening.digest(judgement.widened),
    )


def _note(note: str | None, *, required: bool = False) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE or (required and not text):
        raise InvalidInput(f"note: {int(required)} to {MAX_NOTE} characters", field="note")
    return text or None


async def _pending(session: AsyncSession, proposal_id: str) -> PolicyProposal:
    row = await store.get(session, str(proposal_id))
    if row is None:
        raise NotFound("no such policy proposal", field="proposalId")
    if row.status != ProposalStatus.PENDING.value:
        raise Conflict(f"this proposal is already {row.status} (提案已处理)", field="proposalId")
    return row


async def _settle(
    info: Info, session: AsyncSession, row: PolicyProposal, status: ProposalStatus, note: str | None
) -> None:
    ctx = info.context
    if not await store.decide(
        session, row, status=status, actor=ctx.principal.name, now=ctx.now, note=note
    ):
        raise Conflict("another secadmin decided this proposal first", field="proposalId")


async def approve_policy_change(
    info: Info, proposal_id: str, note: str | None = None
) -> PolicyProposal:
    ctx = info.context
    text = _note(note)
    async with ctx.writing() as session:
        row = await _pending(session, proposal_id)
        if row.proposer == ctx.principal.name:
            raise Conflict(
                "four eyes: a second secadmin, not the proposer, approves a change that "
                "widens access (四眼原则：提案人不得自行批准)",
                field="proposalId",
            )
        loosened = store.threshold_of(row)
        if loosened is not None:
            await _approve_threshold(info, session, row, loosened, text)
            return row
        add, remove = store.change_of(row)
        judgement = await judge(info, session, add=add, remove=remove)
        if not judgement.alters:
            raise Conflict(
                "stale: the policy already holds this change; reject or withdraw the "
                "proposal (提案已过时)",
                field="proposalId",
            )
        if widening.digest(judgement.widened) != row.widened_digest:
            raise Conflict(
                "stale: the policy changed since this was proposed and the change would now "
                f"widen {len(judgement.widened)} decisions, not the {row.widened_count} "
                "shown; propose it again (提案已过时)",
                field="proposalId",
            )
        await _settle(info, session, row, ProposalStatus.APPROVED, text)
        for rule in remove:
            await policy_store.remove_rule(session, rule, actor=ctx.principal.name, now=ctx.now)
        for rule in add:
            await policy_store.add_rule(session, rule, actor=ctx.principal.name, now=ctx.now)
    return row


async def _approve_threshold(
    info: Info,
    session: AsyncSession,
    row: PolicyProposal,
    loosened: dict[str, Any],
    note: str | None,
) -> None:
    """Apply a loosened alert threshold, unless the threshold moved since it was shown."""
    ctx = info.context
    rule = AlertRule(loosened["rule"])
    now_held = threshold(await alerts.thresholds(session), rule, loosened["role"])
    if now_held != loosened["from"]:
        raise Conflict(
            f"stale: the threshold is {now_held} now, not the {loosened['from']} shown; "
            "propose it again (提案已过时)",
            field="proposalId",
        )
    await _settle(info, session, row, ProposalStatus.APPROVED, note)
    await alerts.set_threshold(
        session,
        rule=rule,
        role=loosened["role"],
        value=int(loosened["to"]),
        actor=ctx.principal.name,
        now=ctx.now,
    )


async def reject_policy_change(info: Info, proposal_id: str, note: str) -> PolicyProposal:
    ctx = info.context
    text = _note(note, required=True)
    async with ctx.writing() as session:
        row = await _pending(session, proposal_id)
        if row.proposer == ctx.principal.name:
            raise Conflict(
                "the proposer withdraws its own proposal (withdrawPolicyChange); rejecting "
                "is the second secadmin's decision",
                field="proposalId",
            )
        await _settle(info, session, row, ProposalStatus.REJECTED, text)
    return row


async def withdraw_policy_change(
    info: Info, proposal_id: str, note: str | None = None
) -> PolicyProposal:
    ctx = info.context
    text = _note(note)
    async with ctx.writing() as session:
        row = await _pending(session, proposal_id)
        if row.proposer != ctx.principal.name:
            raise Conflict(
                "only the proposer withdraws a proposal; another secadmin rejects it",
                field="proposalId",
            )
        await _settle(info, session, row, ProposalStatus.WITHDRAWN, text)
    return row


async def policy_proposals(
    info: Info, status: ProposalStatus | None = ProposalStatus.PENDING
) -> list[PolicyProposal]:
    async with info.context.reading() as session:
        return list(await store.listed(session, status=status, limit=LIST_LIMIT))
