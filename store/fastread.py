"""Core selects run with as little in between as the backend allows (the compiled path).

On PostgreSQL a statement is compiled to SQL once per shape (SQLAlchemy's own
cache key: same clauses, other values) and run on the pooled connection's asyncpg
driver, whose statement cache prepares it once per connection; no transaction is
opened for a single read. Values pass through the result processors SQLAlchemy
itself applies (Money, UtcDateTime, JSON). On SQLite it is plain SQLAlchemy Core.
Either way the statement, and so the region scope in its WHERE, is the one `store` built.

Every statement gets a client span like the engine's own (no parameters in it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from sqlalchemy import Select, TypeDecorator
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

Record = Mapping[str, Any]
COMPILED_CACHE = 512


@dataclass(frozen=True, slots=True)
class _Statement:
    stmt: Select[Any]
    sql: str
    names: tuple[str, ...]  # positional parameter order (PostgreSQL)
    defaults: dict[str, Any]  # values fixed when the statement was built (e.g. the scope)
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    span_name: str


class FastReader:
    """Statements built and compiled once per key; only named parameters vary.

    The key names everything that shapes the statement (its columns, the caller's
    scope, which filters are present); per-request values are `bindparam`s.
    """

    def __init__(self, engine: AsyncEngine, tracer: trace.Tracer) -> None:
        self.engine = engine
        self.tracer = tracer
        self.postgres = engine.dialect.name == "postgresql"
        self._statements: dict[Hashable, _Statement] = {}

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Reads]:
        async with self.engine.connect() as conn:
            yield Reads(self, conn)

    def statement(self, key: Hashable, build: Callable[[], Select[Any]]) -> _Statement:
        found = self._statements.get(key)
        if found is None:
            stmt = build()
            dialect = self.engine.dialect
            compiled = stmt.compile(dialect=dialect)
            processors = tuple(
                (str(column.key), process)
                for column in stmt.selected_columns
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
        return found


def _processor(type_: TypeEngine[Any], dialect: Any) -> Callable[[Any], Any] | None:
    """What SQLAlchemy itself applies to this column's driver values (Money, UtcDateTime,
    JSON ...), so a row read here equals one read through the engine."""
    if isinstance(type_, TypeDecorator):
        # asyncpg already gives Decimal / aware datetime for the impl types; what
        # remains is the decorator's own step (quantize to cents, to UTC)
        def decorated(value: Any) -> Any:
            return type_.process_result_value(value, dialect)

        return decorated
    found: Callable[[Any], Any] | None = type_.dialect_impl(dialect).result_processor(dialect, None)
    return found


class Reads:
    def __init__(self, reader: FastReader, conn: AsyncConnection) -> None:
        self.reader = reader
        self.conn = conn

    async def all(
        self, key: Hashable, build: Callable[[], Select[Any]], **params: Any
    ) -> Sequence[Record]:
        entry = self.reader.statement(key, build)
        if not self.reader.postgres:
            found: Sequence[Record] = (await self.conn.execute(entry.stmt, params)).mappings().all()
            return found
        args = [params[n] if n in params else entry.defaults[n] for n in entry.names]
        with self.reader.tracer.start_as_current_span(
            entry.span_name,
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.statement": entry.sql},
        ):
            raw = await self.conn.get_raw_connection()
            records = await raw.driver_connection.fetch(entry.sql, *args)  # type: ignore[union-attr]
        if not entry.processors:
            return records  # type: ignore[no-any-return]
        rows = []
        for record in records:
            row = dict(record)
            for name, process in entry.processors:
                row[name] = process(row[name])
            rows.append(row)
        return rows

    async def scalar(self, key: Hashable, build: Callable[[], Select[Any]], **params: Any) -> Any:
        found = await self.all(key, build, **params)
        return next(iter(found[0].values())) if found else None
