"""Validation of policy rules a secadmin proposes, before they reach the database.

Separation of duties (三员分立) is enforced here, not by convention: no rule may
grant anything to `auditor`, `secadmin` or `sysadmin`, nor make them inherit a
role, so no administrator can grant itself access to personal data.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence

from domain.enums import Role
from domain.errors import Forbidden, InvalidInput
from domain.principal import Principal
from domain.region import SCOPE_LENGTHS
from policies.engine import ANY_SCOPE, Decision, PolicyEngine

ADMIN_ROLES = frozenset({Role.AUDITOR.value, Role.SECADMIN.value, Role.SYSADMIN.value})
# no rule may hand policy, credential or audit administration to another role
ADMIN_TYPES = frozenset(
    {
        "PolicyRule",
        "PolicyChange",
        "PolicyProposal",
        "PolicyWidening",
        "CredentialInfo",
        "AuditEvent",
        "AuditEventConnection",
        "LookupRecord",
        "LookupAlert",
    }
)
ADMIN_OBJECTS = frozenset(
    {
        "Query.policyRules",
        "Query.credentials",
        "Query.auditEvents",
        "Query.auditActivity",
        "Query.auditChain",
        "Query.lookupAlerts",
        "Query.policyProposals",
        "Mutation.grantPermission",
        "Mutation.revokePermission",
        "Mutation.grantRole",
        "Mutation.revokeRole",
        "Mutation.approvePolicyChange",
        "Mutation.rejectPolicyChange",
        "Mutation.withdrawPolicyChange",
        "Mutation.revokeCredential",
        "Mutation.verifyAuditChain",
    }
)
ACTIONS = frozenset({"read", "read_masked", "write", "default"})
EFFECTS = frozenset({"allow", "deny"})
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}\Z")
_OBJ_RE = re.compile(r"^([A-Z][A-Za-z0-9]*)\.(\*|[a-z_][A-Za-z0-9_]*)\Z")


def validate_permission(
    *, subject: str, scope: str, obj: str, action: str, effect: str, types: Container[str]
) -> tuple[str, ...]:
    if not _NAME_RE.match(subject):
        raise InvalidInput("subject: a role name in lower case", field="subject")
    if subject in ADMIN_ROLES:
        raise Forbidden(
            "subject: administrators (auditor, secadmin, sysadmin) cannot be granted data access",
            field="subject",
        )
    if scope != "*" and (
        not (scope.isascii() and scope.isdigit()) or len(scope) not in SCOPE_LENGTHS
    ):
        raise InvalidInput("scope: * or a region prefix of 2, 4, 6, 9 or 12 digits", field="scope")
    match = _OBJ_RE.match(obj)
    if not match or match.group(1) not in types:
        raise InvalidInput("object: Type.field or Type.* of a type in the schema", field="object")
    if match.group(1) in ADMIN_TYPES or obj in ADMIN_OBJECTS:
        raise Forbidden(
            "object: administration stays with the administrators (三员分立)", field="object"
        )
    if action not in ACTIONS:
        raise InvalidInput("action: read, read_masked, write or default", field="action")
    if effect not in EFFECTS:
        raise InvalidInput("effect: allow or deny", field="effect")
    return ("p", subject, scope, obj, action, effect)


def validate_inheritance(*, member: str, role: str) -> tuple[str, ...]:
    for name, field in ((member, "member"), (role, "role")):
        if not _NAME_RE.match(name):
            raise InvalidInput(f"{field}: a role name in lower case", field=field)
    if member in ADMIN_ROLES or role in ADMIN_ROLES:
        raise Forbidden("administrators' roles cannot be inherited or extended", field="member")
    if member == role:
        raise InvalidInput("role: a role cannot inherit itself", field="role")
    return ("g", member, role)


# A masked ID number (6 + 4 kept) hides exactly the birth date, and the check digit
# narrows that to a few thousand candidates: a role that sees the mask must not also
# read what the mask hides, or the two together rebuild the number.
HIDDEN_BY_MASK = {"Member.idNumber": ("Member.birthDate",)}


def masked_id_conflicts(rules: Sequence[Sequence[str]]) -> list[str]:
    """Where a policy would show a masked ID number and, to the same role, what it hides.

    Decided by the real engine over the whole rule set, so inheritance (`g`) and
    scoped rows count: every role named in a rule, at the national scope and at
    every scope a rule names.
    """
    engine = PolicyEngine(rules)
    roles = {r[1] for r in rules if r and r[0] in {"p", "g"} and len(r) > 1}
    roles |= {r[2] for r in rules if r and r[0] == "g" and len(r) > 2}
    scopes = {ANY_SCOPE} | {r[2] for r in rules if r and r[0] == "p" and len(r) > 2}
    found: list[str] = []
    # a credential without a field list, and one listing the fields in question: a
    # partner credential naming both would otherwise escape the check
    listing = frozenset({*HIDDEN_BY_MASK, *(f for h in HIDDEN_BY_MASK.values() for f in h)})
    for role in sorted(roles - ADMIN_ROLES):
        for scope in sorted(scopes):
            national = "" if scope == ANY_SCOPE else scope
            for fields in (None, listing):
                caller = Principal("check", "check", role, national, fields=fields)
                for masked, hidden in HIDDEN_BY_MASK.items():
                    if engine.decide(caller, masked) is not Decision.MASKED:
                        continue
                    found.extend(
                        f"{role} ({scope}): {masked} masked with {field} readable"
                        for field in hidden
                        if engine.decide(caller, field) is not Decision.DENIED
                    )
    return sorted(set(found))


def refuse_masked_id_conflicts(rules: Sequence[Sequence[str]]) -> None:
    conflicts = masked_id_conflicts(rules)
    if conflicts:
        raise Forbidden(
            "This change would let a role rebuild masked ID numbers from the birth date "
            "they hide (掩码身份证号与出生日期不得同时可见): " + "; ".join(conflicts[:5]),
            field="input",
        )
