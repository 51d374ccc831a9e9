"""The one place access is decided: Casbin, per role and region scope, per (Type, field).

Decisions are memoised per policy version, so a steady-state request costs a
dictionary lookup per distinct field, never an `enforce()` per value or row.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import casbin
from casbin import persist

from domain.principal import Principal
from domain.region import SCOPE_LENGTHS
from policies.masking import MASKERS

MODEL_FILE = Path(__file__).with_name("model.conf")
DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.csv")
ANY_SCOPE = "*"
# A role holding this object with act `required` reads, on a credential without a
# field list, only the objects its policy grants with act `default`; anything more
# must be named on the credential (`dibao token issue --fields`). Kept as policy
# data so the same walk and the same secadmin tools govern it.
FIELD_LIST_OBJECT = "Credential.fieldList"
FIELD_LIST_ACT = "required"
DEFAULT_ACT = "default"


def is_plumbing(obj: str) -> bool:
    """Connection plumbing (edges, node, pageInfo, cursor, totalCount): never listed.

    It carries no archive data of its own; the entry point above it and the
    fields below it are what a field list names. The policy still decides it.
    """
    type_name = obj.partition(".")[0]
    return type_name == "PageInfo" or type_name.endswith(("Connection", "Edge"))


class Decision(enum.StrEnum):
    CLEAR = "read"
    MASKED = "read_masked"
    DENIED = "denied"
    WRITE = "write"


def scope_within(caller_scope: str, policy_scope: str) -> bool:
    """Whether a caller's region scope lies inside a policy row's scope.

    Region codes are fixed-width segments, so a proper prefix test must also
    require a whole-segment scope: "22010" is not a scope and matches nothing.
    """
    if policy_scope == ANY_SCOPE:
        return True
    if len(policy_scope) not in SCOPE_LENGTHS or len(caller_scope) not in SCOPE_LENGTHS:
        return False
    return caller_scope.startswith(policy_scope)


def field_match(requested: str, pattern: str) -> bool:
    if pattern in {requested, "*"}:
        return True
    return pattern.endswith(".*") and requested.startswith(pattern[:-1])


def parse_policy_lines(text: str) -> list[tuple[str, ...]]:
    """CSV policy text as rule tuples (ptype first), comments and blanks skipped."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rules.append(tuple(part.strip() for part in line.split(",")))
    return rules


def default_rules() -> list[tuple[str, ...]]:
    return parse_policy_lines(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))


class _RulesAdapter(persist.Adapter):  # type: ignore[misc]
    """Feeds Casbin rules already read from the database (or a file)."""

    def __init__(self, rules: Iterable[Sequence[str]]) -> None:
        self._rules = [list(rule) for rule in rules]

    def load_policy(self, model: object) -> None:
        for rule in self._rules:
            persist.load_policy_line(", ".join(rule), model)


Rules = tuple[tuple[str, ...], ...]
Memo = dict[tuple[str, str, str, str], bool]
# Casbin's enforce() walks every rule through an expression evaluator: milliseconds per
# cold decision. An enforcer and its answers are a pure function of the rule set, so
# engines of one process holding the same rules (a reload back to a version seen before,
# each test's or each app's engine over the shipped policy) share them: keyed by the
# rules themselves, never by a version number that two databases could both call 1.
_SHARED_LIMIT = 8
_shared: OrderedDict[Rules, tuple[casbin.Enforcer, Memo]] = OrderedDict()
_shared_lock = threading.Lock()


def _enforcer_for(rules: Rules) -> tuple[casbin.Enforcer, Memo]:
    with _shared_lock:
        found = _shared.get(rules)
        if found is not None:
            _shared.move_to_end(rules)
            return found
    enforcer = casbin.Enforcer(str(MODEL_FILE), _RulesAdapter(rules))
    enforcer.add_function("scopeWithin", scope_within)
    enforcer.add_function("fieldMatch", field_match)
    enforcer.build_role_links()
    made: tuple[casbin.Enforcer, Memo] = (enforcer, {})
    with _shared_lock:
        made = _shared.setdefault(rules, made)
        _shared.move_to_end(rules)
        while len(_shared) > _SHARED_LIMIT:
            _shared.popitem(last=False)
    return made


class PolicyEngine:
    """Holds one Casbin enforcer at a time; a reload swaps it atomically."""

    def __init__(self, rules: Iterable[Sequence[str]], *, version: int = 0) -> None:
        self._lock = threading.Lock()
        self._install(rules, version)

    def _install(self, rules: Iterable[Sequence[str]], version: int) -> None:
        enforcer, memo = _enforcer_for(tuple(tuple(rule) for rule in rules))
        with self._lock:
            self._enforcer = enforcer
            self._version = version
            self._cache: Memo = memo

    @property
    def version(self) -> int:
        return self._version

    def reload(self, rules: Iterable[Sequence[str]], *, version: int) -> None:
        self._install(rules, version)

    def allows(self, role: str, scope: str, obj: str, act: str) -> bool:
        key = (role, scope, obj, act)
        cache = self._cache
        found = cache.get(key)
        if found is None:
            found = bool(self._enforcer.enforce(role, scope, obj, act))
            cache[key] = found
        return found

    def inherits(self, role: str, ancestor: str) -> bool:
        """Whether `role` holds `ancestor`'s rules through `g` (directly or further up)."""
        return bool(self._enforcer.get_role_manager().has_link(role, ancestor))

    def decide(self, principal: Principal, obj: str, *, write: bool = False) -> Decision:
        """Decision for one field: the role's policy, narrowed by a credential's allow-list.

        A credential without a list reads what the policy grants its role, unless
        the role requires a list: then only the role's default grants.
        """
        if not self._listed(principal, obj):
            return Decision.DENIED
        if write:
            allowed = self.allows(principal.role, principal.scope, obj, "write")
            return Decision.WRITE if allowed else Decision.DENIED
        if self.allows(principal.role, principal.scope, obj, "read"):
            return Decision.CLEAR
        if obj in MASKERS and self.allows(principal.role, principal.scope, obj, "read_masked"):
            return Decision.MASKED
        return Decision.DENIED

    def _listed(self, principal: Principal, obj: str) -> bool:
        if is_plumbing(obj):
            return True
        if principal.fields is not None:
            return any(field_match(obj, allowed) for allowed in principal.fields)
        role, scope = principal.role, principal.scope
        if not self.allows(role, scope, FIELD_LIST_OBJECT, FIELD_LIST_ACT):
            return True
        return self.allows(role, scope, obj, DEFAULT_ACT)
