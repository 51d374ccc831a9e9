"""The administration types: the policy's rules, a change to it, credentials."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import admin
from resolvers.proposals import SHOWN_WIDENINGS
from schema.context import Info
from schema.enums import ProposalStatus
from schema.pricing import priced
from store import proposals as proposal_store
from store.models import Credential
from store.models import PolicyProposal as ProposalRow


@strawberry.type(description="One rule of the access policy.")
class PolicyRule:
    kind: str = strawberry.field(description="p: a permission; g: role inheritance.")
    subject: str
    scope: str | None
    object: str | None
    action: str | None
    effect: str | None
    role: str | None = strawberry.field(description="For g rules: the role inherited.")

    @classmethod
    def from_tuple(cls, rule: tuple[str, ...]) -> PolicyRule:
        if rule[0] == "g":
            return cls(
                kind="g", subject=rule[1], role=rule[2], scope=None, object=None, action=None,
                effect=None,
            )  # fmt: skip
        padded = [*rule[1:], "", "", "", "", ""]
        return cls(
            kind="p", subject=padded[0], scope=padded[1], object=padded[2], action=padded[3],
            effect=padded[4] or "allow", role=None,
        )  # fmt: skip


@strawberry.type(description="One decision a proposed change would make broader.")
class PolicyWidening:
    role: str
    scope: str = strawberry.field(description="The callers' region scope; * for national.")
    object: str = strawberry.field(description="Type.field")
    before: str = strawberry.field(description="denied, read_masked, read or write")
    after: str

    @classmethod
    def from_list(cls, stored: list[str]) -> PolicyWidening:
        role, scope, obj, before, after = stored
        return cls(role=role, scope=scope, object=obj, before=before, after=after)


@strawberry.type(
    description="A policy change that widens access, waiting for a second secadmin (四眼原则)."
)
class PolicyProposal:
    id: strawberry.ID
    adds: list[PolicyRule] = strawberry.field(
        description="Rules the change adds.", metadata=priced(bound=1)
    )
    removes: list[PolicyRule] = strawberry.field(
        description="Rules the change removes.", metadata=priced(bound=1)
    )
    proposer: str
    proposed_at: dt.datetime
    status: ProposalStatus
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None = strawberry.field(description="The decider's note.")
    widened: list[PolicyWidening] = strawberry.field(
        description="What the change widens, as judged when proposed (the first ones).",
        metadata=priced(bound=SHOWN_WIDENINGS),
    )
    widened_count: int = strawberry.field(description="How many decisions it widens in all.")

    @classmethod
    def from_row(cls, row: ProposalRow) -> PolicyProposal:
        add, remove = proposal_store.change_of(row)
        return cls(
            id=strawberry.ID(row.id),
            adds=[PolicyRule.from_tuple(r) for r in add],
            removes=[PolicyRule.from_tuple(r) for r in remove],
            proposer=row.proposer,
            proposed_at=row.proposed_at,
            status=ProposalStatus(row.status),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            note=row.note,
            widened=[PolicyWidening.from_list(w) for w in row.widened],
            widened_count=row.widened_count,
        )


@strawberry.type(
    description="What a grant, a revocation or an alert threshold did: applied at once, or "
    "held as a proposal when it widens access or loosens a misuse rule."
)
class PolicyChange:
    changed: bool = strawberry.field(description="Whether the policy in force changed.")
    version: int
    applied: bool = strawberry.field(
        description="False when the change widens access: it waits for a second secadmin."
    )
    proposal: PolicyProposal | None

    @classmethod
    def from_change(cls, change: admin.PolicyChange) -> PolicyChange:
        return cls(
            changed=change.changed,
            version=change.version,
            applied=change.applied,
            proposal=PolicyProposal.from_row(change.proposal) if change.proposal else None,
        )


@strawberry.type(description="A bearer credential (never its token).")
class CredentialInfo:
    id: str
    principal: str
    role: str
    region: str
    fields: list[str] | None = strawberry.field(metadata=priced(bound=500))
    expires_at: dt.datetime
    revoked: bool

    @classmethod
    def from_row(cls, row: Credential) -> CredentialInfo:
        return cls(
            id=row.id,
            principal=row.principal,
            role=row.role,
            region=row.region_scope or "*",
            fields=row.fields,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
        )

    # usage from the audit log, batched per response (schema/context.py `usage`)
    @strawberry.field(description="When this credential last made an audited request.")
    async def last_used_at(self, info: Info) -> dt.datetime | None:
        return (await info.context.loaders.usage.load(self.id)).last_used_at

    @strawberry.field(description="Audited requests over the last 30 days.")
    async def requests_30d(self, info: Info) -> int:
        return (await info.context.loaders.usage.load(self.id)).requests

    @strawberry.field(
        description="Distinct households (archive numbers) read or changed in the last 30 days."
    )
    async def households_read_30d(self, info: Info) -> int:
        return (await info.context.loaders.usage.load(self.id)).households
