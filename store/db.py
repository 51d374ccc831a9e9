"""Engines and sessions for both backends.

SQLite (aiosqlite) needs three things PostgreSQL does not: foreign keys switched
on per connection, a busy timeout so concurrent writers wait instead of failing,
and SQLAlchemy's own BEGIN (the driver's legacy transaction handling breaks
SAVEPOINT and lets reads run outside a transaction).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

# The values in force come from the settings (gateway/config.py reads DIBAO_CONNECT_TIMEOUT_S
# and DIBAO_STATEMENT_TIMEOUT_MS): short by default, so a database that does not answer
# fails a request in seconds; a county on a slow intranet link raises them.
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
DEFAULT_CONNECT_TIMEOUT_S = 5.0


def create_engine(
    url: str | URL,
    *,
    pool: bool = True,
    statement_timeout: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
) -> AsyncEngine:
    """An engine for either backend. On PostgreSQL every statement is bounded by a
    server-side statement timeout, so a stuck query cannot hold a request forever."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    # statement parameters are personal data: never in exceptions or logs
    # no pre-ping: it cost a round trip per checkout (measured: a visible share of a page);
    # a connection found dead fails its one statement and SQLAlchemy then discards
    # every pooled connection older than the failure, so service resumes by itself
    kwargs: dict[str, Any] = {
        "hide_parameters": True,
        # a database that does not answer fails the request in seconds, not a minute
        "connect_args": {
            "server_settings": {"statement_timeout": str(statement_timeout)},
            "timeout": connect_timeout,
        },
    }
    if pool:
        kwargs.update(pool_size=10, max_overflow=10)
    else:
        kwargs["poolclass"] = NullPool
    return create_async_engine(parsed, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue on the busy
        # timeout instead of one failing later with "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,  # lost or rejected connections
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,  # "connection is closed"
    # a connection the server dropped mid-operation ("cannot switch to state ...")
    asyncpg.exceptions._base.InternalClientError,
)


def is_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or went away (not a bad statement)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UNREACHABLE):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return False
