"""Administration under separation of duties (三员分立): secadmin edits the policy,

sysadmin lists and revokes credentials. Credentials are issued only on the
host (`dibao token issue`): a token handed back over the API would let a
sysadmin mint itself a data-reading role under another name. Which role may
call what is the policy's business (`write` on each mutation); what no
administrator may do to itself is enforced here and in `policies.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.exports import POLICY_TYPES
from policies.rules import validate_inheritance, validate_permission
from resolvers import proposals
from resolvers.context import Info
from store import credentials as creds
from store import policy as policy_store
from store.models import Credential, PolicyProposal


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """Whether a grant or revocation changed the policy, and its version after; or the
    proposal it became when it widens access."""

    changed: bool
    version: int
    applied: bool = True  # False: it widens access and waits for a second secadmin
    proposal: PolicyProposal | None = None


class PermissionInput:
    """A permission: role, region scope, Type.field, action, effect.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    subject: str
    object: str
    action: str
    scope: str = "*"
    effect: str = "allow"


class _SchemaTypes:
    """The names of the served schema's types (not introspection's), as a collection."""

    def __init__(self, info: Info) -> None:
        self.schema = info.schema

    def __contains__(self, name: object) -> bool:
        if name in POLICY_TYPES:  # decided by the policy, served as files, not as types
            return True
        return (
            isinstance(name, str)
            and not name.startswith("__")
            and self.schema.get_type_by_name(name) is not None
        )


async def _change(info: Info, rule: tuple[str, ...], *, add: bool) -> PolicyChange:
    """Apply a narrowing change (or one that alters nothing) at once; a widening one
    becomes a proposal for a second secadmin (resolvers/proposals.py)."""
    ctx = info.context
    adds, removes = ([rule], []) if add else ([], [rule])
    async with ctx.writing() as session:
        judgement = await proposals.judge(info, session, add=adds, remove=removes)
        if judgement.widened:
            proposal = await proposals.propose(info, session, judgement, add=adds, remove=removes)
            return PolicyChange(
                changed=False, version=judgement.version, applied=False, proposal=proposal
            )
        if add:
            changed = await policy_store.add_rule(
                session, rule, actor=ctx.principal.name, now=ctx.now
            )
        else:
            changed = await policy_store.remove_rule(
                session, rule, actor=ctx.principal.name, now=ctx.now
            )
        version = await policy_store.policy_version(session)
    return PolicyChange(changed=changed, version=version)


async def policy_rules(info: Info) -> list[tuple[str, ...]]:
    async with info.context.reading() as session:
        _, rules = await policy_store.load_rules(session)
    return list(rules)


def _permission(info: Info, rule: PermissionInput) -> tuple[str, ...]:
    return validate_permission(
        subject=rule.subject.strip(),
        scope=rule.scope.strip(),
        obj=rule.object.strip(),
        action=rule.action.strip(),
        effect=rule.effect.strip(),
        types=_SchemaTypes(info),
    )


async def grant_permission(info: Info, input: PermissionInput) -> PolicyChange:
    return await _change(info, _permission(info, input), add=True)


async def revoke_permission(info: Info, input: PermissionInput) -> PolicyChange:
    return await _change(info, _permission(info, input), add=False)


async def grant_role(info: Info, member: str, role: str) -> PolicyChange:
    return await _change(info, validate_inheritance(member=member, role=role), add=True)


async def revoke_role(info: Info, member: str, role: str) -> PolicyChange:
    return await _change(info, validate_inheritance(member=member, role=role), add=False)


async def credentials(info: Info) -> list[Credential]:
    async with info.context.reading() as session:
        return list(await creds.list_credentials(session))


async def revoke_credential(info: Info, id: str) -> Credential:
    ctx = info.context
    if id == ctx.principal.credential_id:
        raise InvalidInput("id: use another credential to revoke this one", field="id")
    async with ctx.writing() as session:
        return await creds.revoke_credential(session, credential_id=id, now=ctx.now)
