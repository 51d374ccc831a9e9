"""verification policy: a partner's fields of the queue are named one by one, and
security officers read the exchange's activity per department

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.policy import rule_key, rule_rows

# 0011 shipped `VerificationRequest.*` and `VerificationSubject.*` to partners: a field
# added to either type later (an address, an archive number) would have reached every
# partner credential unasked. The release tightens the default, so it says so here
# (store/policy.py sync_shipped never takes a rule away): the wildcards go, and the
# fields they covered are named. A database where a secadmin removed a wildcard gets
# no named rule for it back, as that secadmin meant.
REMOVED = (
    "p, partner, *, VerificationRequest.*, default, allow",
    "p, partner, *, VerificationRequest.*, read, allow",
    "p, partner, *, VerificationSubject.*, default, allow",
    "p, partner, *, VerificationSubject.*, read, allow",
)
_NAMED = {
    "VerificationRequest": ("id", "department", "status", "dueOn", "requestedAt", "subjects"),
    "VerificationSubject": ("id", "relation", "name", "idNumber"),
}
NAMED = tuple(
    f"p, partner, *, {type_name}.{field}, {action}, allow"
    for type_name, fields in _NAMED.items()
    for field in fields
    for action in ("default", "read")
)
# the security officers' oversight of the exchange: counts per department
_ACTIVITY = ("department", "received", "answered", "withdrawn", "pending", "overdue")
OVERSIGHT = tuple(
    rule
    for role in ("auditor", "secadmin")
    for rule in (
        f"p, {role}, *, Query.verificationActivity, read, allow",
        *(f"p, {role}, *, VerificationActivity.{field}, read, allow" for field in _ACTIVITY),
    )
)
RULES = NAMED + OVERSIGHT

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _parsed(rules: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [tuple(part.strip() for part in rule.split(",")) for rule in rules]


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        *(sa.column(f"v{i}", sa.String) for i in range(6)),
    )
    return shipped, rules


def _matches(rules: sa.TableClause, rule: tuple[str, ...]) -> sa.ColumnElement[bool]:
    padded = [*rule[1:], "", "", "", "", "", ""][:6]
    return sa.and_(
        rules.c.ptype == rule[0], *(rules.c[f"v{i}"] == value for i, value in enumerate(padded))
    )


def _in_force(rules: sa.TableClause, rule: tuple[str, ...]) -> bool:
    found = op.get_bind().execute(sa.select(sa.func.count()).where(_matches(rules, rule)))
    return bool(found.scalar())


def _wildcard(rule: tuple[str, ...]) -> tuple[str, ...]:
    type_name = rule[3].split(".")[0]
    return (rule[0], rule[1], rule[2], f"{type_name}.*", *rule[4:])


def upgrade() -> None:
    shipped, rules = _tables()
    bind = op.get_bind()
    seen = set(bind.execute(sa.select(shipped.c.rule)).scalars())
    named = [rule for rule in _parsed(NAMED) if rule_key(rule) not in seen]
    # every named rule is remembered as shipped, so the startup sync does not add it
    # later; it is in force only where its wildcard still was
    in_force = [rule for rule in named if _in_force(rules, _wildcard(rule))]
    oversight = [rule for rule in _parsed(OVERSIGHT) if rule_key(rule) not in seen]
    if named or oversight:
        op.bulk_insert(shipped, [{"rule": rule_key(rule)} for rule in named + oversight])
    if in_force or oversight:
        op.bulk_insert(rules, rule_rows(in_force + oversight))
    for rule in _parsed(REMOVED):
        op.execute(sa.delete(rules).where(_matches(rules, rule)))


def downgrade() -> None:
    shipped, rules = _tables()
    restored = [rule for rule in _parsed(REMOVED) if not _in_force(rules, rule)]
    for rule in _parsed(RULES):
        op.execute(sa.delete(rules).where(_matches(rules, rule)))
    op.execute(sa.delete(shipped).where(shipped.c.rule.in_([rule_key(r) for r in _parsed(RULES)])))
    if restored:
        op.bulk_insert(rules, rule_rows(restored))
