"""New default policy rules reach databases migrated by an earlier release; removals stay."""

from __future__ import annotations

from sqlalchemy import delete, select

from gateway.runtime import Runtime
from policies.engine import default_rules
from store.migrate import upgrade
from store.models import PolicyRule, PolicyShipped
from store.policy import find_rule, policy_version, rule_key

NEW_IN_RELEASE = ("p", "auditor", "*", "Query.auditChain", "read", "allow")
REMOVED_BY_SECADMIN = ("p", "supervisor", "*", "Query.overdue", "read", "allow")


async def test_upgrade_adds_new_shipped_rules_but_not_removed_ones(runtime: Runtime) -> None:
    async with runtime.sessions.begin() as session:
        for rule in (NEW_IN_RELEASE, REMOVED_BY_SECADMIN):
            found = await find_rule(session, rule)
            assert found is not None
            await session.delete(found)
        # the earlier release never shipped this one
        await session.execute(
            delete(PolicyShipped).where(PolicyShipped.rule == rule_key(NEW_IN_RELEASE))
        )
        before = await policy_version(session)
    await upgrade(runtime.engine, shipped_rules=default_rules())
    async with runtime.sessions() as session:
        assert await find_rule(session, NEW_IN_RELEASE) is not None
        assert await find_rule(session, REMOVED_BY_SECADMIN) is None
        assert await policy_version(session) == before + 1
        rules = (await session.scalars(select(PolicyRule.id))).all()
    await upgrade(runtime.engine, shipped_rules=default_rules())  # idempotent
    async with runtime.sessions() as session:
        assert len((await session.scalars(select(PolicyRule.id))).all()) == len(rules)
        assert await policy_version(session) == before + 1


async def test_a_new_database_starts_at_version_one_with_the_whole_policy(runtime: Runtime) -> None:
    # the fixture's database was created by `upgrade`: releases since the first policy
    # migration added their rules without a version bump, since no server was running.
    # A version above 1 would read to `dibao audit verify` as an installation that served
    async with runtime.sessions() as session:
        assert await policy_version(session) == 1
        for rule in default_rules():
            assert await find_rule(session, rule) is not None, rule
