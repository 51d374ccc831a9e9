"""Fixtures shared by the suite: every storage test runs on SQLite and PostgreSQL.

The database schema is built once per backend per session through the real
Alembic migrations; each test then gets an empty database (a copy of the
migrated SQLite file, or a TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.app import create_app
from gateway.config import Settings, sqlite_url
from gateway.ratelimit import Rate
from gateway.runtime import Runtime
from gateway.tracing import instrument_engine
from policies.engine import default_rules
from store.crypto import Cipher, KeyRing
from store.db import create_engine, session_factory
from store.migrate import upgrade
from store.models import Base, PolicyRule, PolicyShipped, PolicyState
from store.policy import rule_key, rule_rows
from store.types import utcnow

PG_ADMIN_URL = os.environ.get(
    "DIBAO_TEST_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("DIBAO_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgres"]
TEST_RATES = {"default": Rate(1_000_000, 1_000_000)}
# A loaded two-core CI machine once took over the default 5 s to open a connection, and a
# correctness test failed as UNAVAILABLE; the tests of failing fast stop the server, which
# refuses at once, so they do not lean on this timeout. Servers started by tests inherit it,
# and the settings of in-process tests carry the same.
TEST_CONNECT_TIMEOUT_S = 30.0
os.environ.setdefault("DIBAO_CONNECT_TIMEOUT_S", str(int(TEST_CONNECT_TIMEOUT_S)))


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _pg_available() -> bool:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception:
        return False
    return True


async def _migrate(url: str) -> None:
    engine = create_engine(url, pool=False, connect_timeout=TEST_CONNECT_TIMEOUT_S)
    try:
        await upgrade(engine, shipped_rules=default_rules())
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(sqlite_url(path)))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not _pg_available():
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (DIBAO_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip("PostgreSQL is not reachable")
    name = f"dibao_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    # a test database need not outlive a crash of PostgreSQL itself: its commits return
    # before their WAL reaches the disk (still durable across a server's kill -9 or a
    # clean restart), which spares the suite a flush per audit entry
    asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        if request.node.get_closest_marker("postgres_only"):
            pytest.skip("PostgreSQL only")
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "dibao.db"
        shutil.copyfile(template, path)
        yield sqlite_url(path)
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only")
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_pg_reset(url))
    yield url


# Emptying the tables with DELETE, not TRUNCATE: a TRUNCATE of the 39 tables swaps
# every table's and index's files and took about a second a test, a DELETE of a
# test's few rows some milliseconds. With the triggers off (below) the order does
# not matter. DELETE leaves dead rows, and autovacuum is off on these machines, so
# every VACUUM_EVERY resets the database is vacuumed, keeping each test's tables as
# small as a fresh migration's.
_DELETES = " ".join(
    f'DELETE FROM "{t.name}";'  # noqa: S608 (the names are our own models')
    for t in Base.metadata.sorted_tables
)
_EMPTY = (
    f"DO $$ BEGIN {_DELETES}"
    # what TRUNCATE ... RESTART IDENTITY did: the tables' own sequences from the start
    + " PERFORM setval(s.seqrelid::regclass, s.seqstart, false) FROM pg_sequence s"
    " JOIN pg_depend d ON d.objid = s.seqrelid AND d.classid = 'pg_class'::regclass"
    " AND d.deptype IN ('a', 'i');"
    " END $$"
)
VACUUM_EVERY = 40
_resets = 0


async def _pg_reset(url: str) -> None:
    """Empty every table and restore the shipped policy, as a fresh migration leaves it."""
    global _resets
    _resets += 1
    engine = create_async_engine(url)
    try:
        if _resets % VACUUM_EVERY == 0:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM"))
        async with engine.begin() as conn:
            # the audit tables refuse DELETE by trigger; a test reset is the one
            # place allowed to go around it (as the database owner would have to)
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text(_EMPTY))
            await conn.execute(
                text("INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, 0, :h, '')"),
                {"h": "0" * 64},
            )
            await conn.execute(text("INSERT INTO audit_retention (id, days) VALUES (1, 183)"))
            # the misuse scan's one locked row, as migration 0016 leaves it
            await conn.execute(text("INSERT INTO alert_scan (id, last_seq) VALUES (1, 0)"))
            await conn.execute(insert(PolicyRule), rule_rows(default_rules()))
            await conn.execute(
                insert(PolicyShipped), [{"rule": rule_key(r)} for r in default_rules()]
            )
            await conn.execute(
                insert(PolicyState),
                [{"id": 1, "version": 1, "updated_at": utcnow(), "updated_by": "test"}],
            )
    finally:
        await engine.dispose()


@pytest.fixture(autouse=True)
def anchor_file_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers and commands started by a test anchor into that test's own file, the
    one the `settings` fixture names, never into one in the working folder."""
    monkeypatch.setenv("DIBAO_AUDIT_ANCHOR_FILE", str(tmp_path / "anchors.jsonl"))
    monkeypatch.delenv("DIBAO_AUDIT_ANCHOR_SYSLOG", raising=False)


@pytest.fixture
def key_ring() -> KeyRing:
    return KeyRing.generate()


@pytest.fixture
def key_file(tmp_path: Path, key_ring: KeyRing) -> Path:
    path = tmp_path / "keys.json"
    path.write_bytes(key_ring.to_json())
    path.chmod(0o600)
    return path


@pytest.fixture
def execution_path(request: pytest.FixtureRequest) -> str:
    """compiled (the default, as served) or generic; `both_paths` tests run each."""
    return str(getattr(request, "param", "compiled"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker("both_paths") is not None
    if marked and "execution_path" in metafunc.fixturenames:
        metafunc.parametrize("execution_path", ["compiled", "generic"], indirect=True)


@pytest.fixture
def settings(database_url: str, key_file: Path, execution_path: str) -> Settings:
    return Settings(
        database_url=database_url,
        key_file=key_file,
        fast_path=execution_path == "compiled",
        rate_limits=TEST_RATES,  # tests fire requests back to back; tests/api/test_rate_limits.py
        anchor_file=key_file.parent / "anchors.jsonl",  # as anchor_file_env names it
        connect_timeout_s=TEST_CONNECT_TIMEOUT_S,
    )


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def runtime(
    settings: Settings, key_ring: KeyRing, spans: InMemorySpanExporter
) -> AsyncIterator[Runtime]:
    engine = create_engine(settings.database_url, connect_timeout=settings.connect_timeout_s)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    instrument_engine(engine, provider)
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        cipher=Cipher(key_ring),
        tracer_provider=provider,
    )
    await rt.start()
    yield rt
    await rt.close()


@dataclass
class Api:
    """A partner's-eye view of the service: HTTP calls with a bearer token."""

    client: httpx.AsyncClient

    async def post(
        self, token: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def gql(
        self, token: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = await self.post(token, query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def api(settings: Settings, runtime: Runtime) -> AsyncIterator[Api]:
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client)
