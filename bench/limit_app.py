"""The benchmark's limit reference: how fast these reads can be served at all here.

Raw ASGI, orjson and asyncpg, no GraphQL, no authentication, policy, audit or
tracing: it runs the very SQL the gateway's compiled path runs (captured from the
same `store` builders at start-up, national scope) on one asyncpg pool, decrypts
the same personal columns with the same cipher, and writes the JSON with orjson.
The report's project ÷ limit ratio says how much of the possible speed the full
gateway keeps.

    POST /point {"archiveNo": ...}   POST /page {}   (any other body: the page)

    DIBAO_DATABASE_URL=... DIBAO_KEY_FILE=... python bench/limit_app.py --port P
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvicorn
from opentelemetry import trace
from sqlalchemy import Executable

from gateway.config import load_settings
from store import households as store
from store.crypto import Cipher, load_or_create_keys
from store.db import create_engine
from store.fastread import FastReader, Reads, Record
from store.households import HouseholdFilter

HOUSEHOLD_COLUMNS = (
    "archive_no",
    "village_code",
    "area",
    "status",
    "address",
    "monthly_benefit",
    "review_class",
)
PAGE_COLUMNS = ("archive_no", "village_code", "area", "status")
MEMBER_COLUMNS = ("id", "archive_no", "relation", "name_enc", "id_number_enc", "monthly_income")
PAGE_SIZE = 50


class _Capture(Reads):
    """Records the statement a `store` function would run, and runs none."""

    def __init__(self, reader: FastReader) -> None:
        super().__init__(reader, None)  # type: ignore[arg-type]
        self.seen: list[tuple[Executable, dict[str, Any]]] = []

    async def all(self, stmt: Executable, **params: Any) -> Sequence[Record]:
        self.seen.append((stmt, params))
        return [{"archive_no": "x"}]


class _Sql:
    """One captured statement: its SQL and its positional arguments' sources."""

    def __init__(self, reader: FastReader, stmt: Executable, params: dict[str, Any]) -> None:
        found = reader.statement(stmt)
        self.sql, self.names = found.sql, found.names
        self.values = {**found.defaults, **params}

    def args(self, **given: Any) -> list[Any]:
        return [given[n] if n in given else self.values[n] for n in self.names]


async def _sql(reader: FastReader, call: Callable[[Reads], Awaitable[Any]]) -> _Sql:
    capture = _Capture(reader)
    await call(capture)
    stmt, params = capture.seen[0]
    return _Sql(reader, stmt, params)


class Limit:
    def __init__(self, url: str, cipher: Cipher) -> None:
        self.url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.cipher = cipher
        self.engine = create_engine(url)
        self.reader = FastReader(self.engine, trace.NoOpTracer())
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        flt = HouseholdFilter(scope="")
        today = dt.datetime.now(dt.UTC).date()
        self.point_sql = await _sql(
            self.reader,
            lambda r: store.household_row(r, columns=HOUSEHOLD_COLUMNS, scope="", archive_no="x"),
        )
        self.members_sql = await _sql(
            self.reader,
            lambda r: store.active_member_rows(
                r, columns=MEMBER_COLUMNS, scope="", archive_nos=["x"]
            ),
        )
        self.page_sql = await _sql(
            self.reader,
            lambda r: store.page_household_rows(
                r, columns=PAGE_COLUMNS, flt=flt, first=PAGE_SIZE, after=None, today=today
            ),
        )
        self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=10)

    def _members(self, rows: Sequence[asyncpg.Record]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for m in rows:
            out.setdefault(m["archive_no"], []).append(
                {
                    "relation": m["relation"],
                    "name": self.cipher.decrypt(
                        m["name_enc"], table="members", column="name", row_id=m["id"]
                    ),
                    "idNumber": self.cipher.decrypt(
                        m["id_number_enc"], table="members", column="id_number", row_id=m["id"]
                    ),
                    "monthlyIncome": str(m["monthly_income"]),
                }
            )
        return out

    async def point(self, archive_no: str) -> Any:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            point = self.point_sql
            row = await conn.fetchrow(point.sql, *point.args(archive_no=archive_no))
            if row is None:
                return {"household": None}
            found = self.members_sql
            members = self._members(
                await conn.fetch(found.sql, *found.args(archive_nos=[archive_no]))
            )
        house = dict(row)
        house["monthly_benefit"] = str(house["monthly_benefit"])
        house["members"] = members.get(archive_no, [])
        return {"household": house}

    async def page(self) -> Any:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            rows = (await conn.fetch(self.page_sql.sql, *self.page_sql.args()))[:PAGE_SIZE]
            numbers = [r["archive_no"] for r in rows]
            found = self.members_sql
            members = self._members(await conn.fetch(found.sql, *found.args(archive_nos=numbers)))
        return {
            "households": [{**dict(r), "members": members.get(r["archive_no"], [])} for r in rows]
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = orjson.loads(body) if body else {}
        variables = request.get("variables") or {}
        if "archiveNo" in variables:
            data = await self.point(variables["archiveNo"])
        else:
            data = await self.page()
        payload = orjson.dumps({"data": data})
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def limit_app() -> Limit:
    settings = load_settings()
    return Limit(settings.database_url, Cipher(load_or_create_keys(settings.key_file)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "limit_app:limit_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        workers=args.workers,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_worker_healthcheck=60,
    )


if __name__ == "__main__":
    main()
