"""Statements on the hot path, with as little in between as the backend allows.

Used by authentication, the compiled read path and the audit append of reads.
On PostgreSQL a statement is compiled to SQL once per text and run on
a small asyncpg pool of its own, whose statement cache prepares it once per
connection; a single statement runs in autocommit (no BEGIN/ROLLBACK round
trips). Values pass through the result processors SQLAlchemy itself applies
(Money, UtcDateTime, JSON), so a row read here equals one read through the
engine. The pool shares the engine's statement timeout. On SQLite it is plain
SQLAlchemy Core on the engine. Either way the statement, and so the region scope
in its WHERE, is the one `store` built.

Measured on the household point lookup (bench/, py-spy): ORM entities, session
transactions and pool pre-ping were about half of the request's CPU before.

Every PostgreSQL statement gets a client span like the engine's own (the SQL
text, never the parameters).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from opentelemetry import trace
from sqlalchemy import Executable, Select, TypeDecorator
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

from store.db import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_STATEMENT_TIMEOUT_MS

Record = Mapping[str, Any]
COMPILED_CACHE = 512
POOL_SIZE = 10


@dataclass(frozen=True, slots=True)
class _Statement:
    stmt: Executable
    sql: str
    names: tuple[str, ...]  # positional parameter order (PostgreSQL)
    defaults: dict[str, Any]  # values fixed when the statement was built (e.g. the scope)
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    span_name: str


class FastReader:
    """Statements compiled once per SQL text and parameters; only named parameters vary.

    The cache key is the statement's own: SQLAlchemy's cache key (everything that
    shapes the SQL text, the scope's range constants included) and the values fixed
    when it was built. No caller writes a key, so none can leave out the scope.
    Per-request values are `bindparam`s.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        tracer: trace.Tracer,
        *,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        self.engine = engine
        # the same bounds as the engine's connections (the settings pass both)
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self.tracer = tracer
        self.postgres = engine.dialect.name == "postgresql"
        self._statements: dict[Hashable, _Statement] = {}
        self._by_object: dict[int, _Statement] = {}
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    async def _asyncpg_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    url = self.engine.url.set(drivername="postgresql")
                    self._pool = await asyncpg.create_pool(
                        url.render_as_string(hide_password=False),
                        min_size=1,
                        max_size=POOL_SIZE,
                        server_settings={"statement_timeout": str(self.statement_timeout_ms)},
                        timeout=self.connect_timeout_s,
                        init=_json_codecs,
                        connection_class=_HotConnection,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def pool_usage(self) -> tuple[int, int] | None:
        """Connections of the hot-path pool (in use, idle); None before it opens."""
        pool = self._pool
        if pool is None:
            return None
        idle = pool.get_idle_size()
        return pool.get_size() - idle, idle

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Reads]:
        if self.postgres:
            pool = await self._asyncpg_pool()
            async with pool.acquire() as conn:
                yield Reads(self, conn)
            return
        async with self.engine.connect() as sa_conn:
            yield Reads(self, sa_conn)
            await sa_conn.commit()  # SQLite: end the read (or the autocommitted write)

    def statement(self, stmt: Executable) -> _Statement:
        # a statement built once and reused (store/households.py) is found by identity,
        # without its cache key: the entry holds the object, so its id is not reused
        found = self._by_object.get(id(stmt))
        if found is not None and found.stmt is stmt:
            return found
        key = statement_key(stmt)
        found = self._statements.get(key)
        if found is None:
            dialect = self.engine.dialect
            compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
            columns = stmt.selected_columns if isinstance(stmt, Select) else ()
            processors = tuple(
                (str(column.key), process)
                for column in columns
                if (process := _processor(column.type, dialect)) is not None
            )
            sql = compiled.string
            found = _Statement(
                stmt=stmt,
                sql=sql,
                names=tuple(compiled.positiontup or ()),
                defaults=dict(compiled.construct_params(_check=False)),
                processors=processors,
                span_name=f"{sql.split(None, 1)[0]} {self.engine.url.database}",
            )
            if len(self._statements) >= COMPILED_CACHE:
                self._statements.clear()
            self._statements[key] = found
        if len(self._by_object) >= COMPILED_CACHE:
            self._by_object.clear()
        self._by_object[id(stmt)] = dataclasses.replace(found, stmt=stmt)
        return found


def statement_key(stmt: Executable) -> Hashable:
    """What makes two statements one: the SQL they compile to and the values fixed in
    them (a per-request `bindparam` has none)."""
    cache_key = stmt._generate_cache_key()  # type: ignore[attr-defined]
    if cache_key is None:
        raise TypeError("a hot-path statement must be cacheable")
    fixed = tuple(
        None if p.required else (p.type.__class__.__name__, repr(p.effective_value))
        for p in cache_key.bindparams
    )
    return (cache_key.key, fixed)


class _HotConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pool connection given back without asyncpg's reset statement.

    asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    each time a connection goes back to its pool: a round trip of its own, two a read
    (its statements, then the audit append), for session state this pool never makes.
    Its statements run one at a time in autocommit; none sets a variable, listens,
    opens a cursor or takes an advisory lock (the session's settings are given at
    connect). An open transaction is still rolled back on release (asyncpg does that
    apart from this statement)."""

    def get_reset_query(self) -> str:
        return ""


async def _json_codecs(conn: asyncpg.Connection) -> None:
    """JSON decoded by the driver, as SQLAlchemy's asyncpg dialect sets it up."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=_json_dumps, decoder=orjson.loads, schema="pg_catalog"
        )


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _processor(type_: TypeEngine[Any], dialect: Any) -> Callable[[Any], Any] | None:
    """What SQLAlchemy itself applies to this column's driver values."""
    if isinstance(type_, TypeDecorator):
        # asyncpg already gives Decimal / aware datetime for the impl types; what
        # remains is the decorator's own step (quantize to cents, to UTC)
        def decorated(value: Any) -> Any:
            return type_.process_result_value(value, dialect)

        return decorated
    found: Callable[[Any], Any] | None = type_.dialect_impl(dialect).result_processor(dialect, None)
    return found


class Reads:
    """One connection's worth of hot-path statements (asyncpg or SQLAlchemy)."""

    def __init__(self, reader: FastReader, conn: asyncpg.Connection | AsyncConnection) -> None:
        self.reader = reader
        self.conn = conn

    async def all(self, stmt: Executable, **params: Any) -> Sequence[Record]:
        if isinstance(self.conn, AsyncConnection):  # SQLAlchemy caches its own compilation
            result = await self.conn.execute(stmt, params)
            if not result.returns_rows:
                return []
            found: Sequence[Record] = result.mappings().all()  # type: ignore[assignment]
            return found
        entry = self.reader.statement(stmt)
        args = [params[n] if n in params else entry.defaults[n] for n in entry.names]
        with self.reader.tracer.start_as_current_span(
            entry.span_name,
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.statement": entry.sql},
        ):
            records = await self.conn.fetch(entry.sql, *args)
        if not entry.processors:
            return records  # type: ignore[no-any-return]
        rows = []
        for record in records:
            row = dict(record)
            for name, process in entry.processors:
                row[name] = process(row[name])
            rows.append(row)
        return rows

    async def scalar(self, stmt: Executable, **params: Any) -> Any:
        found = await self.all(stmt, **params)
        return next(iter(found[0].values())) if found else None
