"""Keeps every server process on the newest policy without a restart.

Each process polls the single `policy_state` row once a second (one indexed
read) and reloads the rules when its version moved. This works the same on
SQLite and PostgreSQL and survives dropped connections, which a LISTEN-only
watcher does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.logsafe import describe
from policies.engine import PolicyEngine
from store.policy import load_rules, policy_version

log = logging.getLogger("dibao.policy")
POLL_SECONDS = 1.0


async def load_engine(sessions: async_sessionmaker[AsyncSession]) -> PolicyEngine:
    async with sessions() as session:
        version, rules = await load_rules(session)
    return PolicyEngine(rules, version=version)


async def refresh(engine: PolicyEngine, sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Reload when the stored version differs; True if a reload happened."""
    async with sessions() as session:
        if await policy_version(session) == engine.version:
            return False
        version, rules = await load_rules(session)
    engine.reload(rules, version=version)
    log.info("policy reloaded at version %s", version)
    return True


async def watch(engine: PolicyEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            await refresh(engine, sessions)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database may be away for a while; keep the last good policy
            log.warning(
                "policy refresh failed; keeping version %s: %s", engine.version, describe(exc)
            )


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
