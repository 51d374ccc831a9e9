"""The policy engine's own rules, below the API: region scopes match by whole segments,
the shipped CSV is read line by line with its comments, and a role inherits through `g`.

The API tests ask the engine about the shipped policy, whose scopes are all well formed;
these hold the edges a secadmin's grant or a hand-edited file could reach."""

from __future__ import annotations

import uuid

import pytest

from domain.principal import Principal
from policies import engine as engine_module
from policies.engine import (
    Decision,
    PolicyEngine,
    default_rules,
    field_match,
    parse_policy_lines,
    scope_within,
)


@pytest.mark.parametrize(
    ("caller", "policy", "within"),
    [
        ("220183", "22", True),  # a county inside its province
        ("220183", "*", True),
        ("22", "22", True),
        ("22", "220183", False),  # a province is not inside one of its counties
        ("520102", "22", False),
        ("220103", "22010", False),  # "22010" is no scope: it matches nothing
        ("22010", "22", False),  # nor is a caller's "22010"
        ("2201831", "22", False),
    ],
)
def test_a_scope_matches_by_whole_segments(caller: str, policy: str, within: bool) -> None:
    assert scope_within(caller, policy) is within


@pytest.mark.parametrize(
    ("requested", "pattern", "matches"),
    [
        ("Household.address", "Household.address", True),
        ("Household.address", "*", True),
        ("Household.address", "Household.*", True),
        # a type's wildcard covers its own fields only: not a type whose name it
        # begins (HouseholdDocument, Householder) nor any other type
        ("HouseholdDocument.fileName", "Household.*", False),
        ("Householder.name", "Household.*", False),
        ("Member.idNumber", "Household.*", False),
        ("Household.address", "Household.addr", False),
        ("Household", "Household.*", False),
    ],
)
def test_a_field_pattern_matches_its_field_or_its_types_fields_only(
    requested: str, pattern: str, matches: bool
) -> None:
    assert field_match(requested, pattern) is matches


def test_policy_text_is_read_line_by_line_without_comments_and_blanks() -> None:
    text = """
# a comment, then a blank line

p, caseworker , 220183, Household.address, read, allow
  # an indented comment
g, county_reviewer, caseworker
"""
    assert parse_policy_lines(text) == [
        ("p", "caseworker", "220183", "Household.address", "read", "allow"),
        ("g", "county_reviewer", "caseworker"),
    ]


def test_the_shipped_file_is_read_whole() -> None:
    rules = default_rules()
    assert len(rules) > 100
    assert not any(rule[0].startswith("#") for rule in rules)
    assert ("p", "auditor", "*", "Query.auditEvents", "read", "allow") in rules


def test_a_role_holds_what_it_inherits() -> None:
    engine = PolicyEngine(
        [
            ("p", "base", "*", "Household.address", "read", "allow"),
            ("g", "child", "base"),
        ]
    )
    child = Principal(name="c", role="child", scope="220183", credential_id="x")
    other = Principal(name="o", role="other", scope="220183", credential_id="y")
    assert engine.inherits("child", "base")
    assert engine.decide(child, "Household.address") is Decision.CLEAR
    assert engine.decide(other, "Household.address") is Decision.DENIED


def test_engines_share_the_enforcer_of_a_rule_set_seen_lately_and_keep_eight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reload back to a rule set seen before (each test's or app's engine over the
    shipped policy) reuses its enforcer: building one costs milliseconds a decision.
    At most eight are kept, the least recently used dropped first."""
    built: list[object] = []
    real = engine_module.casbin.Enforcer

    def counted(*args: object, **kwargs: object) -> object:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_module.casbin, "Enforcer", counted)
    tag = uuid.uuid4().hex  # rule sets no other test has made
    sets = [[("p", f"r{n}-{tag}", "*", "Household.address", "read", "allow")] for n in range(9)]
    for rules in sets[:8]:
        PolicyEngine(rules)
    assert len(built) == 8
    PolicyEngine(sets[0])  # seen: shared, and now the most recent
    assert len(built) == 8
    PolicyEngine(sets[8])  # a ninth: the least recently used, sets[1], goes
    assert len(built) == 9
    for kept in (sets[8], sets[0], sets[2], sets[7]):
        PolicyEngine(kept)
    assert len(built) == 9
    PolicyEngine(sets[1])
    assert len(built) == 10
