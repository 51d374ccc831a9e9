"""The administration types: the policy's rules, a change to it, credentials."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import admin
from schema.context import Info
from schema.pricing import priced
from store.models import Credential


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


@strawberry.type
class PolicyChange:
    changed: bool
    version: int

    @classmethod
    def from_change(cls, change: admin.PolicyChange) -> PolicyChange:
        return cls(changed=change.changed, version=change.version)


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
