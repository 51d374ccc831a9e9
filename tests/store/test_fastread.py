"""The hot path's statement cache keys on the statement itself, never on a caller's key;
its cache and pool stay bounded, and what it reads or writes is what the engine would."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    make_url,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.runtime import Runtime
from store import fastread
from store import households as store
from store.fastread import COMPILED_CACHE, FastReader, statement_key
from store.models import Region
from store.types import Money, UtcDateTime

TODAY = dt.date(2026, 1, 1)


def page(scope: str, *, region: str | None = None, after: bool = False) -> Select[Any]:
    flt = store.HouseholdFilter(scope=scope, region=region)
    stmt = store._filtered(select(store.HOUSEHOLDS.c.archive_no), flt, TODAY)
    if after:
        stmt = stmt.where(store.HOUSEHOLDS.c.archive_no > bindparam("after", type_=String))
    return stmt.limit(bindparam("limit", type_=Integer))


def test_same_statement_same_key() -> None:
    assert statement_key(page("110101")) == statement_key(page("110101"))


def test_scope_region_and_filters_each_make_a_new_statement() -> None:
    keys = {
        statement_key(s)
        for s in (
            page("110101"),
            page("110102"),
            page(""),
            page("110101", region="110101001"),
            page("110101", after=True),
        )
    }
    assert len(keys) == 5


def test_a_value_fixed_in_the_statement_is_part_of_the_key() -> None:
    table = store.HOUSEHOLDS
    one = select(table.c.archive_no).where(table.c.status == "ACTIVE")
    other = select(table.c.archive_no).where(table.c.status == "SUSPENDED")
    assert statement_key(one) != statement_key(other)


def test_the_compiled_reads_build_a_statement_once_per_shape_and_scope() -> None:
    """Built once and reused (no statement or cache key per request); the scope is one
    of the arguments the reuse keys on, so another scope gets its own statement."""
    columns = ("archive_no", "status")
    one = store._household_statement(columns, "220183")
    assert store._household_statement(columns, "220183") is one
    other = store._household_statement(columns, "220184")
    assert other is not one and statement_key(other) != statement_key(one)
    member_columns = ("archive_no", "relation")
    members = store._members_statement(member_columns, "220183", True)
    assert store._members_statement(member_columns, "220183", True) is members
    assert store._members_statement(member_columns, "220184", True) is not members
    flt = store.HouseholdFilter(scope="220183")
    paged = store._page_statement(columns, flt, TODAY, False)
    assert (
        store._page_statement(columns, store.HouseholdFilter(scope="220183"), TODAY, False) is paged
    )
    assert (
        store._page_statement(columns, store.HouseholdFilter(scope="22"), TODAY, False) is not paged
    )


def test_a_reused_statement_is_found_by_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader compiles a reused statement once and then finds it without its key."""
    reader = FastReader(create_async_engine("sqlite+aiosqlite://"), trace.NoOpTracer())
    stmt = store._household_statement(("archive_no",), "220183")
    first = reader.statement(stmt)

    def no_key(_: object) -> None:
        raise AssertionError("the cache key was built again")

    monkeypatch.setattr(fastread, "statement_key", no_key)
    assert reader.statement(stmt).sql == first.sql
    assert "220183" in first.sql  # the scope's range, in the WHERE


def _reader() -> FastReader:
    return FastReader(create_async_engine("sqlite+aiosqlite://"), trace.NoOpTracer())


def _numbered(n: int) -> Select[Any]:
    # one shape, a value fixed in each: a statement (and a cache entry) of its own
    table = store.HOUSEHOLDS
    return select(table.c.archive_no).where(table.c.archive_no == f"A{n:06d}")


def test_the_statement_caches_stay_within_their_bound() -> None:
    """A long-running server meets many scopes and values: the compiled statements it
    keeps are bounded, and a statement compiled after the bound is reached is right."""
    reader = _reader()
    for n in range(COMPILED_CACHE * 2 + 1):
        entry = reader.statement(_numbered(n))
        assert len(reader._statements) <= COMPILED_CACHE
        assert len(reader._by_object) <= COMPILED_CACHE
    assert entry.defaults == {"archive_no_1": f"A{COMPILED_CACHE * 2:06d}"}


def test_an_equal_statement_built_again_is_compiled_once() -> None:
    """Statements equal in SQL and fixed values share one compilation, even with other
    statements compiled in between."""
    reader = _reader()
    first = reader.statement(_numbered(1))
    reader.statement(_numbered(2))
    assert reader.statement(_numbered(1)) is first


def test_reused_statements_are_found_by_identity_among_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every statement store/households.py builds once is found without its cache key,
    not only the one compiled last."""
    reader = _reader()
    one = store._household_statement(("archive_no",), "220183")
    other = store._household_statement(("archive_no",), "220184")
    first, second = reader.statement(one), reader.statement(other)

    def no_key(_: object) -> None:
        raise AssertionError("the cache key was built again")

    monkeypatch.setattr(fastread, "statement_key", no_key)
    assert reader.statement(one).sql == first.sql
    assert reader.statement(other).sql == second.sql


@pytest.mark.postgres_only
async def test_idle_the_hot_path_keeps_one_warm_connection(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a burst the hot-path pool gives back the connections it no longer needs
    but keeps one open, so the next request after a quiet spell does not connect first.
    (asyncpg closes a connection idle for max_inactive_connection_lifetime, five minutes
    by default; the test shortens it.)"""
    create_pool = asyncpg.create_pool

    def quickly_idle(*args: Any, **kwargs: Any) -> Any:
        return create_pool(*args, **kwargs, max_inactive_connection_lifetime=0.2)

    monkeypatch.setattr(asyncpg, "create_pool", quickly_idle)
    reader = runtime.reader
    async with reader.connect() as a, reader.connect() as b, reader.connect() as c:
        values = [await r.scalar(select(literal(n))) for n, r in enumerate((a, b, c))]
        assert values == [0, 1, 2]
        assert reader.pool_usage() == (3, 0)
    assert reader.pool_usage() == (0, 3)
    for _ in range(50):
        await asyncio.sleep(0.1)
        if reader.pool_usage() == (0, 1):
            break
    await asyncio.sleep(0.5)  # and no fewer once the others are closed
    assert reader.pool_usage() == (0, 1)


@pytest.mark.postgres_only
async def test_closing_the_reader_closes_its_connections(runtime: Runtime) -> None:
    """A runtime that closes leaves no hot-path connection open on the server (a reload
    or a test's runtime would otherwise keep them until the server drops them)."""
    reader = runtime.reader
    async with reader.connect() as reads:
        pid = await reads.scalar(select(func.pg_backend_pid()))
    await reader.close()
    assert reader.pool_usage() is None
    async with runtime.engine.connect() as conn:
        for _ in range(50):
            found = await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if found == 0:
                break
            await asyncio.sleep(0.1)
    assert found == 0


@pytest.mark.postgres_only
async def test_a_connection_goes_back_to_the_pool_without_a_round_trip(runtime: Runtime) -> None:
    """asyncpg resets a connection it is given back with a statement of its own (RESET
    ALL and the rest): a round trip per release, two a read. The hot path makes no
    session state to reset, so the last statement the server saw on the connection is
    still the request's own; a transaction left open is still rolled back."""
    reader = runtime.reader
    async with reader.connect() as reads:
        pid = await reads.scalar(select(func.pg_backend_pid()))
        raw = reads.conn
        assert isinstance(raw, asyncpg.Connection)
        await raw.execute("BEGIN")  # no hot-path statement does this: the release must end it
    async with runtime.engine.connect() as conn:
        state, last = (
            await conn.execute(
                text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        ).one()
    assert state == "idle"
    assert last.strip().upper() == "ROLLBACK", last  # not asyncpg's RESET ALL after it


@pytest.mark.postgres_only
async def test_a_statement_cut_off_midway_leaves_its_connection_clean(runtime: Runtime) -> None:
    """Without asyncpg's reset statement (above), nothing but the driver's own release
    stands between one request's connection and the next's: a request cancelled in the
    middle of a statement (its task cancelled) or one the server's statement timeout
    stops gives back a connection the next request uses as if new, with no transaction
    open and no cancellation landing on its statement."""
    reader = FastReader(runtime.engine, runtime.reader.tracer, statement_timeout_ms=2000)
    try:
        pids: list[int] = []

        async def slow() -> None:
            async with reader.connect() as reads:
                pids.append(await reads.scalar(select(func.pg_backend_pid())))
                await reads.scalar(select(func.pg_sleep(literal_column("1.5"))))

        task = asyncio.create_task(slow())
        async with runtime.engine.connect() as conn:
            for _ in range(100):  # until the server is running the statement
                await asyncio.sleep(0.02)
                running = pids and await conn.scalar(
                    text("SELECT state = 'active' FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pids[0]},
                )
                if running:
                    break
        assert running
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with reader.connect() as reads:  # the server's timeout, on the same one
            assert await reads.scalar(select(func.pg_backend_pid())) == pids[0]
            with pytest.raises(asyncpg.QueryCanceledError):
                await reads.scalar(select(func.pg_sleep(literal_column("2.5"))))
        async with reader.connect() as reads:
            assert await reads.scalar(select(func.pg_backend_pid())) == pids[0]
            raw = reads.conn
            assert isinstance(raw, asyncpg.Connection)
            # the server says after each statement whether a transaction is open
            assert not raw.is_in_transaction()
        async with runtime.engine.connect() as conn:
            state = await conn.scalar(
                text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pids[0]}
            )
        assert state == "idle"
    finally:
        await reader.close()


def _statement_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if "households" in str((s.attributes or {}).get("db.statement", ""))
    ]


@pytest.mark.postgres_only
async def test_a_hot_path_statement_gets_a_client_span_with_its_sql(
    runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    """An operator's trace shows a hot-path statement: a client span with the SQL text
    the engine's span would carry, named by the statement's verb and the database."""
    stmt = store._household_statement(("archive_no",), "220183")
    async with runtime.engine.connect() as conn:
        await conn.execute(stmt, {"archive_no": "none"})
    (engine_span,) = _statement_spans(spans)
    spans.clear()
    async with runtime.reader.connect() as reads:
        assert await reads.all(stmt, archive_no="none") == []
    (fast_span,) = _statement_spans(spans)
    assert fast_span.name == f"SELECT {runtime.engine.url.database}"
    assert fast_span.kind == engine_span.kind == trace.SpanKind.CLIENT
    assert fast_span.attributes is not None and engine_span.attributes is not None
    assert fast_span.attributes["db.statement"] == engine_span.attributes["db.statement"]


async def test_scalar_is_the_first_column_of_the_first_row(runtime: Runtime) -> None:
    numbers = union_all(*(select(literal(n).label("n")) for n in (3, 1, 2))).subquery()
    ordered = select(numbers.c.n, (numbers.c.n * 10).label("tenfold")).order_by(numbers.c.n)
    async with runtime.reader.connect() as reads:
        assert await reads.scalar(ordered) == 1
        assert await reads.scalar(ordered.where(numbers.c.n > 1)) == 2
        assert await reads.scalar(ordered.where(numbers.c.n > 3)) is None


async def test_a_row_read_on_the_hot_path_equals_the_engines(runtime: Runtime) -> None:
    """Values the database gives in another form than the column's type promises are
    turned into it as the engine turns them: money to cents, times to aware UTC."""
    if runtime.settings.is_postgres:
        # a value of more places than money's two, a time without its zone
        money, time = "1234.565", "'2026-03-01 08:30:00'::timestamp"
    else:  # money is whole cents there, times are stored without their zone
        money, time = "123456", "'2026-03-01 08:30:00.000000'"
    stmt = select(
        type_coerce(literal_column(money), Money).label("amount"),
        type_coerce(literal_column(time), UtcDateTime).label("at"),
        literal("plain").label("text"),
    )
    async with runtime.engine.connect() as conn:
        expected = dict((await conn.execute(stmt)).mappings().one())
    async with runtime.reader.connect() as reads:
        assert [dict(row) for row in await reads.all(stmt)] == [expected]
    at = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert expected == {"amount": Decimal("1234.56"), "at": at, "text": "plain"}
    assert str(expected["amount"]) == "1234.56"


async def test_a_statement_that_writes_is_committed_with_the_connection(
    runtime: Runtime,
) -> None:
    """A write on the hot path (the read audit's append on PostgreSQL) needs no
    transaction of its own: it holds once its connection is given back."""
    added = insert(Region).values(code="990001", name="测试乡", level="township")
    async with runtime.reader.connect() as reads:
        assert await reads.all(added) == []
    async with runtime.sessions() as session:
        found = await session.scalar(select(Region.name).where(Region.code == "990001"))
    assert found == "测试乡"


async def test_the_pool_connects_as_the_engine_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hot-path pool logs in with the engine's user and password (a server that
    asks for a password refuses a masked one; the test server trusts any) and keeps
    the engine's time bounds."""
    opened: dict[str, Any] = {}

    async def create_pool(dsn: str, **kwargs: Any) -> object:
        opened.update(kwargs, dsn=dsn)
        return object()

    monkeypatch.setattr(asyncpg, "create_pool", create_pool)
    engine = create_async_engine("postgresql+asyncpg://archive:s3cret@db.internal:6543/dibao")
    reader = FastReader(
        engine, trace.NoOpTracer(), statement_timeout_ms=1234, connect_timeout_s=7.5
    )
    try:
        await reader._asyncpg_pool()
    finally:
        await engine.dispose()
    url = make_url(opened["dsn"])
    assert (url.drivername, url.username, url.password) == ("postgresql", "archive", "s3cret")
    assert (url.host, url.port, url.database) == ("db.internal", 6543, "dibao")
    assert opened["server_settings"] == {"statement_timeout": "1234"}
    assert opened["timeout"] == 7.5
