"""Whether a policy change widens access: the one place that decides four-eyes.

A change is judged by what it does, not by how its rule reads: the policy before
and after is loaded into the real engine, and the decisions of every role that
can feel the change are compared over the schema's fields and every scope a
rule names. A decision that grows (denied to masked or clear, masked to clear,
denied to write) is a widening, and a change with one is only a proposal until a
second secadmin approves it (resolvers/proposals.py).

Only roles inheriting a changed rule's subject, and only fields its object
matches, can decide differently (the model's matcher is `g(sub) && fieldMatch(obj)`,
and `Credential.fieldList` reaches every field): the rest of the table is equal
by construction and is not recomputed, which keeps a check within a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.exports import EXPORT_TYPE, ROLL_COLUMNS
from domain.exports import POLICY_OBJECTS as EXPORT_OBJECTS
from domain.principal import Principal
from policies.engine import (
    ANY_SCOPE,
    FIELD_LIST_ACT,
    FIELD_LIST_OBJECT,
    Decision,
    PolicyEngine,
    field_match,
)

Rule = tuple[str, ...]
_RANK = {Decision.DENIED: 0, Decision.MASKED: 1, Decision.CLEAR: 2, Decision.WRITE: 2}
WRITE_TYPE = "Mutation"
WRITE_TYPES = (WRITE_TYPE, EXPORT_TYPE)  # an export's kind is run, as a mutation is


@dataclass(frozen=True, order=True, slots=True)
class Widening:
    """One decision a change makes broader: a role, at a caller scope, on a field."""

    role: str
    scope: str  # "*" for a national caller, else the region prefix a rule names
    object: str
    before: str  # Decision values: denied, read_masked, read, write
    after: str

    def as_list(self) -> list[str]:
        return [self.role, self.scope, self.object, self.before, self.after]


def apply(
    rules: Iterable[Sequence[str]], *, add: Sequence[Rule], remove: Sequence[Rule]
) -> list[Rule]:
    """The rule set after a change: `remove` taken out, then `add` put in (once each)."""
    gone = set(remove)
    after = [tuple(r) for r in rules if tuple(r) not in gone]
    present = set(after)
    for rule in add:
        if rule not in present:
            after.append(rule)
            present.add(rule)
    return after


def _roles(rules: Sequence[Sequence[str]]) -> set[str]:
    roles = {r[1] for r in rules if r and r[0] in {"p", "g"} and len(r) > 1}
    return roles | {r[2] for r in rules if r and r[0] == "g" and len(r) > 2}


def _scopes(rules: Sequence[Sequence[str]]) -> set[str]:
    """National plus every scope a rule names: a caller's decision depends only on the
    longest named scope its own lies within, so these stand for every caller."""
    return {ANY_SCOPE} | {r[2] for r in rules if r and r[0] == "p" and len(r) > 2}


def _reach(
    changed: Sequence[Rule],
    engines: Sequence[PolicyEngine],
    roles: set[str],
    objects: Sequence[str],
) -> tuple[set[str], list[str]]:
    """The roles and fields whose decisions the changed rules can touch."""
    subjects = {rule[1] for rule in changed if len(rule) > 1}
    touched_roles = {
        role
        for role in roles
        for subject in subjects
        if role == subject or any(engine.inherits(role, subject) for engine in engines)
    }
    patterns = {rule[3] for rule in changed if rule[0] == "p" and len(rule) > 3}
    if any(rule[0] != "p" for rule in changed) or FIELD_LIST_OBJECT in patterns:
        return touched_roles, list(objects)
    return touched_roles, [o for o in objects if any(field_match(o, p) for p in patterns)]


# what the policy decides besides the schema's fields: fetching a scanned document's
# bytes (gateway/downloads.py CONTENT), reading the schema itself (policies/walk.py
# INTROSPECTION_OBJECT), running each kind of export and the payment roll's personal
# columns (domain/exports.py); tests/authz/test_four_eyes.py holds the lists together
NON_FIELD_OBJECTS = (
    "Document.content",
    "Schema.introspection",
    *EXPORT_OBJECTS.values(),
    *ROLL_COLUMNS,
)


def _callers(
    engines: Sequence[PolicyEngine], role: str, scope: str, objects: Sequence[str]
) -> list[Principal]:
    """The callers a decision can differ for: a credential without a field list, and,
    where the role requires lists (partners), one listing every object, since any
    partner credential naming a field gains what its role gains on it."""
    national = "" if scope == ANY_SCOPE else scope
    callers = [Principal("four-eyes", "four-eyes", role, national)]
    if any(e.allows(role, national, FIELD_LIST_OBJECT, FIELD_LIST_ACT) for e in engines):
        callers.append(
            Principal("four-eyes", "four-eyes", role, national, fields=frozenset(objects))
        )
    return callers


def _decide(engine: PolicyEngine, caller: Principal, obj: str) -> Decision:
    return engine.decide(caller, obj, write=obj.partition(".")[0] in WRITE_TYPES)


def widenings(
    before: Sequence[Sequence[str]],
    after: Sequence[Sequence[str]],
    *,
    changed: Sequence[Rule],
    objects: Sequence[str],
) -> list[Widening]:
    """Every decision `after` makes broader than `before`, sorted.

    `objects`: every Type.field of the served schema (writes are decided for
    Mutation fields, reads for the rest).
    """
    old, new = PolicyEngine(before), PolicyEngine(after)
    every = [*objects, *(o for o in NON_FIELD_OBJECTS if o not in objects)]
    roles, fields = _reach(changed, (old, new), _roles(before) | _roles(after), every)
    found: set[Widening] = set()
    for role in sorted(roles):
        for scope in sorted(_scopes(before) | _scopes(after)):
            for caller in _callers((old, new), role, scope, every):
                for obj in fields:
                    was, now = _decide(old, caller, obj), _decide(new, caller, obj)
                    if _RANK[now] > _RANK[was]:
                        found.add(Widening(role, scope, obj, was.value, now.value))
    return sorted(found)


def digest(found: Sequence[Widening]) -> str:
    """A fingerprint of what a change widens: equal at approval, or the proposal is stale."""
    text = "\n".join(",".join(w.as_list()) for w in sorted(found))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
