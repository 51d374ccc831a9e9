"""What one audit append costs on PostgreSQL, next to one bare round trip.

Prints JSON: median and p95 microseconds for `SELECT 1` (one round trip, the
baseline) and for an audit append as a read request makes it (autocommit, one
statement), measured in the same run on a scratch database.

    python bench/audit_cost.py [--appends 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import orjson
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from audit.chain import AuditChain
from audit.record import AuditRecord
from policies.engine import default_rules
from store.db import create_engine
from store.migrate import upgrade
from store.types import utcnow

ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def main(appends: int) -> dict[str, object]:
    name = f"dibao_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        await upgrade(engine, shipped_rules=default_rules())
        chain = AuditChain(b"k" * 32)
        statements: list[str] = []
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        base, cost = [], []
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for i in range(appends):
                entry = AuditRecord(
                    time=utcnow(),
                    client="127.0.0.1:1",
                    trace_id=None,
                    principal="bench",
                    outcome="allowed",
                    archive_nos=[f"220183100001-2026-{i:06d}"],
                ).as_dict()
                start = time.perf_counter()
                await auto.execute(text("SELECT 1"))
                middle = time.perf_counter()
                await chain.append(auto, entry)
                end = time.perf_counter()
                base.append((middle - start) * 1e6)
                cost.append((end - middle) * 1e6)
        per_append = (len(statements) - appends) / appends  # minus the SELECT 1 baseline
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_us": round(statistics.median(ordered), 1),
            "p95_us": round(ordered[int(len(ordered) * 0.95)], 1),
        }

    return {
        "appends": appends,
        "baseline_select_1": summary(base),
        "audit_append": summary(cost),
        "statements_per_append": round(per_append, 3),
        "ratio_append_to_round_trip": round(statistics.median(cost) / statistics.median(base), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=2000)
    print(
        orjson.dumps(
            asyncio.run(main(parser.parse_args().appends)), option=orjson.OPT_INDENT_2
        ).decode()
    )
