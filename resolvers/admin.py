"""Administration under separation of duties (三员分立): secadmin edits the policy,

sysadmin lists and revokes credentials. Credentials are issued only on the
host (`dibao token issue`): a token handed back over the API would let a
sysadmin mint itself a data-reading role under another name. Which role may
call what is the policy's business (`write` on each mutation); what no
administrator may do to itself is enforced here and in `policies.rules`.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from domain.errors import InvalidInput
from policies.rules import refuse_masked_id_conflicts, validate_inheritance, validate_permission
from resolvers.context import Info
from store import credentials as creds
from store import policy as policy_store
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


class PermissionInput:
    """A permission: role, region scope, Type.field, action, effect.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    subject: str
    object: str
    action: str
    scope: str = "*"
    effect: str = "allow"


@strawberry.type(description="A bearer credential (never its token).")
class CredentialInfo:
    id: str
    principal: str
    role: str
    region: str
    fields: list[str] | None
    expires_at: dt.datetime
    revoked: bool


def _schema_types(info: Info) -> set[str]:
    return {name for name in info.schema._schema.type_map if not name.startswith("__")}


async def _change(info: Info, rule: tuple[str, ...], *, add: bool) -> PolicyChange:
    ctx = info.context
    async with ctx.writing() as session:
        if add:
            changed = await policy_store.add_rule(
                session, rule, actor=ctx.principal.name, now=ctx.now
            )
        else:
            changed = await policy_store.remove_rule(
                session, rule, actor=ctx.principal.name, now=ctx.now
            )
        if changed:  # judged on the whole resulting policy; refused, the change rolls back
            await session.flush()
            refuse_masked_id_conflicts((await policy_store.load_rules(session))[1])
        version = await policy_store.policy_version(session)
    return PolicyChange(changed=changed, version=version)


async def policy_rules(info: Info) -> list[PolicyRule]:
    async with info.context.reading() as session:
        _, rules = await policy_store.load_rules(session)
    return [PolicyRule.from_tuple(r) for r in rules]


def _permission(info: Info, rule: PermissionInput) -> tuple[str, ...]:
    return validate_permission(
        subject=rule.subject.strip(),
        scope=rule.scope.strip(),
        obj=rule.object.strip(),
        action=rule.action.strip(),
        effect=rule.effect.strip(),
        types=_schema_types(info),
    )


async def grant_permission(info: Info, input: PermissionInput) -> PolicyChange:
    return await _change(info, _permission(info, input), add=True)


async def revoke_permission(info: Info, input: PermissionInput) -> PolicyChange:
    return await _change(info, _permission(info, input), add=False)


async def grant_role(info: Info, member: str, role: str) -> PolicyChange:
    return await _change(info, validate_inheritance(member=member, role=role), add=True)


async def revoke_role(info: Info, member: str, role: str) -> PolicyChange:
    return await _change(info, validate_inheritance(member=member, role=role), add=False)


def _info(row: Credential) -> CredentialInfo:
    return CredentialInfo(
        id=row.id,
        principal=row.principal,
        role=row.role,
        region=row.region_scope or "*",
        fields=row.fields,
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
    )


async def credentials(info: Info) -> list[CredentialInfo]:
    async with info.context.reading() as session:
        return [_info(c) for c in await creds.list_credentials(session)]


async def revoke_credential(info: Info, id: strawberry.ID) -> CredentialInfo:
    ctx = info.context
    if id == ctx.principal.credential_id:
        raise InvalidInput("id: use another credential to revoke this one", field="id")
    async with ctx.writing() as session:
        row = await creds.revoke_credential(session, credential_id=str(id), now=ctx.now)
    return _info(row)
