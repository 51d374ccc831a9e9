"""Every root read at two archive sizes: does a read's cost follow the caller's scope?

    python bench/scale.py [--sizes 100000,1000000] [--repeat 5] [--only f1,f2]

For each size: a PostgreSQL database `scale_bench_<n>` seeded with
`dibao seed --households N` (the national tree) or reused when it already holds
N households (its key file is kept in ~/.cache/dibao-bench-scale/), where one
member in 256 is then made to hold another's ID number (so `duplicateCandidates`
has groups to find); then, in process through the full gateway (policy, masking,
audit, tracing), every root query field once per role that may call it (a role
the policy refuses is left out), repeated: median and max latency per read at
each size and their ratio. Scopes are the same codes at every size: the national
fill order's first county, its first-filled township, its province. Then
`EXPLAIN (ANALYZE, BUFFERS)` of the statements of the main reads (captured from
the generic executor). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from domain.enums import Role
from domain.idnumber import make_id_number
from gateway.app import create_app
from gateway.config import Settings
from gateway.ratelimit import Rate
from gateway.runtime import Runtime
from store.credentials import issue_credential
from store.crypto import Cipher, load_or_create_keys
from store.db import create_engine, session_factory
from store.models import Household, Payment
from store.regions_national import national_plan
from store.types import utcnow

ADMIN = os.environ.get(
    "DIBAO_BENCH_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
CACHE = Path(os.environ.get("DIBAO_BENCH_SCALE_DIR", Path.home() / ".cache" / "dibao-bench-scale"))
ROOT = Path(__file__).resolve().parents[1]

# one document per root field (alternatives tried in order: the first the policy lets
# the role run is timed; a role refused every one may not call the field)
PAGE = "totalCount edges { node { archiveNo status } }"
DOCUMENTS: dict[str, list[str]] = {
    "household": [
        "query($a: String!) { household(archiveNo: $a) { archiveNo status members { relation } } }"
    ],
    "households": ["{ households(first: 50) { " + PAGE + " } }"],
    "households@township": [
        "query($t: String) { households(region: $t, first: 50) { " + PAGE + " } }"
    ],
    "verifyRecipient": ["query($i: String!) { verifyRecipient(idNumber: $i) { isRecipient } }"],
    "policyRules": ["{ policyRules { kind subject object } }"],
    "policyProposals": ["{ policyProposals { __typename } }"],
    "dueForReview": ["query($d: Date!) { dueForReview(before: $d, first: 50) { " + PAGE + " } }"],
    "paymentBatches": [
        "query($c: String!, $p: String) { paymentBatches(countyCode: $c, period: $p) { count } }"
    ],
    "duplicateCandidates": [
        "{ duplicateCandidates(first: 50) { totalCount edges { node { archiveNos members } } } }"
    ],
    "overdue": ["{ overdue(stage: SUBMITTED, verification: false, first: 50) { " + PAGE + " } }"],
    "statistics": [
        "query($p: String!) { statistics(period: $p) { byStatus { area status households }"
        " byCategory { category households } payments { area status payments amount } } }",
        "query($p: String!) { statistics(period: $p) { byStatus { area status householdsLabel }"
        " byCategory { category householdsLabel } } }",
    ],
    "standards": ["query($c: String!) { standards(countyCode: $c) { area monthlyAmount } }"],
    "auditEvents": ["{ auditEvents(first: 50) { edges { node { seq } } } }"],
    "auditActivity": [
        "query($s: DateTime!, $u: DateTime!) { auditActivity(since: $s, until: $u, "
        "bucket: DAY, by: ROLE) { __typename } }"
    ],
    "alerts": ["{ alerts(newest: 50) { __typename } }"],
    "alertThresholds": ["{ alertThresholds { __typename } }"],
    "lookupAlerts": [
        "query($s: DateTime!, $u: DateTime!) { lookupAlerts(since: $s, until: $u, threshold: 5)"
        " { __typename } }"
    ],
    "auditChain": ["{ auditChain { __typename } }"],
    "credentials": ["{ credentials { __typename } }"],
    "permissionReview": ["{ permissionReview(unusedDays: 90) { __typename } }"],
    "permissionReviews": ["{ permissionReviews(first: 20) { edges { cursor } } }"],
    "permissionReviewDue": ["{ permissionReviewDue { __typename } }"],
    # a partner's queue is read ten at a time (domain.verification.QUEUE_PAGE)
    "verificationRequests": ["{ verificationRequests(first: 10) { edges { cursor } } }"],
    "verificationActivity": [
        "query($c: String!) { verificationActivity(county: $c) { __typename } }"
    ],
}
# A seed stores every person once, so `duplicateCandidates` would find nothing: one
# member in 256 (by blind index, so the same share of every scope at every size) is
# made to hold the next such member's ID number, as data imported before the check
# would, mostly across counties. The database's triggers keep the duplicates table.
PAIR_PEOPLE = """
WITH picked AS (
    SELECT id, id_index, row_number() OVER (ORDER BY id_index) AS n
    FROM members WHERE get_byte(id_index, 1) = 0
)
UPDATE members m SET id_index = b.id_index
FROM picked a JOIN picked b ON b.n = a.n + 1
WHERE m.id = a.id AND a.n % 2 = 1
"""
# the reads whose plans are printed, and their role
EXPLAINED = {
    "households@township": "caseworker",
    "households": "supervisor",
    "statistics": "supervisor",
    "duplicateCandidates": "county_reviewer",
    "dueForReview": "county_reviewer",
}


def scopes() -> dict[str, str]:
    """The same codes at every size: where the national fill order starts."""
    plan = national_plan(1)
    township = plan.townships[0][0][0][:9]
    county, province = township[:6], township[:2]
    return {
        Role.CASEWORKER.value: township,
        Role.COUNTY_REVIEWER.value: county,
        Role.FINANCE_OFFICER.value: county,
        Role.SUPERVISOR.value: province,
        Role.PARTNER.value: province,
        Role.AUDITOR.value: "*",
        Role.SECADMIN.value: "*",
        Role.SYSADMIN.value: "*",
    }


def url_of(database: str) -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + database


async def households_in(database: str) -> int | None:
    admin = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{database}"'))
                return None
    finally:
        await admin.dispose()
    engine = create_async_engine(url_of(database))
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(text("SELECT to_regclass('households') IS NOT NULL"))
            return (
                int(await conn.scalar(select(func.count()).select_from(Household)) or 0)
                if exists
                else None
            )
    finally:
        await engine.dispose()


def dibao(database: str, key_file: Path, *args: str) -> float:
    env = {**os.environ, "DIBAO_DATABASE_URL": url_of(database), "DIBAO_KEY_FILE": str(key_file)}
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(Path(sys.executable).with_name("dibao")), *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


async def prepare(size: int) -> tuple[str, Path, float | None]:
    database = f"scale_bench_{size}"
    await asyncio.to_thread(CACHE.mkdir, parents=True, exist_ok=True)
    key_file = CACHE / f"{database}.keys.json"
    found = await households_in(database)
    seconds = None
    if found != size:
        if found:
            raise SystemExit(f"{database} holds {found} households, not {size}: drop it first")
        key_file.unlink(missing_ok=True)
        seconds = dibao(database, key_file, "seed", "--households", str(size), "--seed", "1")
    dibao(database, key_file, "db", "upgrade")  # indexes of newer migrations
    engine = create_async_engine(url_of(database), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT count(*) FROM member_duplicates")):
            await conn.execute(text(PAIR_PEOPLE))
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return database, key_file, seconds


async def measure(
    database: str, key_file: Path, repeat: int, only: set[str] | None, *, plans_wanted: bool
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, Any]]:
    settings = Settings(
        database_url=url_of(database),
        key_file=key_file,
        rate_limits={"default": Rate(1_000_000, 1_000_000)},
        anchor_file=CACHE / f"{database}.anchors.jsonl",
    )
    engine = create_engine(settings.database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        cipher=Cipher(load_or_create_keys(key_file)),
    )
    where = scopes()
    tokens = {}
    async with runtime.sessions.begin() as session:
        for role, scope in where.items():
            _, tokens[role] = await issue_credential(
                session, principal=f"bench-{role}", role=role, region=scope,
                ttl=dt.timedelta(hours=2), fields=None, now=utcnow(),
                department="PUBLIC_SECURITY" if role == Role.PARTNER.value else None,
            )  # fmt: skip
        archive = await session.scalar(
            select(func.min(Household.archive_no)).where(
                Household.archive_no.startswith(where["caseworker"])
            )
        )
        period = await session.scalar(select(func.max(Payment.period)))
    now = dt.datetime.now(dt.UTC)
    variables = {
        "a": archive, "t": where["caseworker"], "c": where["county_reviewer"], "p": period,
        "i": make_id_number(where["county_reviewer"], dt.date(1961, 3, 4), 996),
        "d": (now.date() + dt.timedelta(days=60)).isoformat(),
        "s": (now - dt.timedelta(days=7)).isoformat(), "u": now.isoformat(),
    }  # fmt: skip
    results: dict[tuple[str, str], dict[str, Any]] = {}
    plans: dict[str, Any] = {}
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        call = Caller(app, tokens, variables)
        # the floor of this run: a request that reads nothing, audit entry included
        await call("caseworker", "{ __typename }")
        floor = [(await call("caseworker", "{ __typename }"))[0] for _ in range(repeat)]
        plans["floor_ms"] = round(statistics.median(floor), 1)
        for name, documents in DOCUMENTS.items():
            if only and name.split("@")[0] not in only and name not in only:
                continue
            for role in where:
                for document in documents:
                    _, body = await call(role, document)  # warm-up, and may it call?
                    codes = {e["extensions"]["code"] for e in body.get("errors") or []}
                    if "FORBIDDEN" in codes:
                        continue
                    times = [(await call(role, document))[0] for _ in range(repeat)]
                    results[(name, role)] = {
                        "scope": where[role],
                        "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1),
                        "errors": sorted(codes) or None,
                    }
                    break
        if plans_wanted:
            # the generic executor's statements, which the compiled path shares
            generic = create_app(dataclasses.replace(settings, fast_path=False), runtime)
            plans |= await explain(runtime, Caller(generic, tokens, variables), where)
    return results, plans


class Caller:
    """One GraphQL request through the app in process, timed."""

    def __init__(self, app: Any, tokens: dict[str, str], variables: dict[str, Any]) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        )
        self.tokens = tokens
        self.variables = variables

    async def __call__(self, role: str, document: str) -> tuple[float, dict[str, Any]]:
        wanted = {k: v for k, v in self.variables.items() if f"${k}:" in document}
        started = time.perf_counter()
        response = await self.client.post(
            "/graphql",
            json={"query": document, "variables": wanted},
            headers={"authorization": f"Bearer {self.tokens[role]}"},
        )
        took = (time.perf_counter() - started) * 1000
        body: dict[str, Any] = response.json()
        return took, body


async def explain(runtime: Runtime, call: Any, where: dict[str, str]) -> dict[str, Any]:
    """The statements each main read runs, with their plans."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    sync = runtime.engine.sync_engine
    event.listen(sync, "before_cursor_execute", capture)
    plans: dict[str, Any] = {}
    try:
        for name, role in EXPLAINED.items():
            captured.clear()
            await call(role, DOCUMENTS[name][0])
            reads = [
                (s, p)
                for s, p in captured
                if s.lstrip().upper().startswith(("SELECT", "WITH"))
                and any(t in s for t in ("households", "members", "payments", "duplicates"))
            ]
            plans[f"{name} ({role} {where[role]})"] = [
                await plan_of(runtime, statement, parameters) for statement, parameters in reads
            ]
    finally:
        event.remove(sync, "before_cursor_execute", capture)
    return plans


async def plan_of(runtime: Runtime, statement: str, parameters: Any) -> dict[str, Any]:
    async with runtime.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        assert pg is not None
        rows = await pg.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *(parameters or ()))
    return {"sql": " ".join(statement.split())[:600], "plan": [r[0] for r in rows]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="")
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(filter(None, args.only.split(","))) or None
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
            "python": platform.python_version(),
        },
        "scopes": scopes(),
        "sizes": {},
    }
    by_size: dict[int, dict[tuple[str, str], dict[str, Any]]] = {}
    for size in sizes:
        database, key_file, seeded = await prepare(size)
        results, plans = await measure(
            database, key_file, args.repeat, only, plans_wanted=not args.no_plans
        )
        by_size[size] = results
        report["sizes"][str(size)] = {
            "database": database,
            "seed_seconds": None if seeded is None else round(seeded, 1),
            "floor_ms": plans.pop("floor_ms"),
            "plans": plans or None,
        }
    reads = []
    for key in sorted(set().union(*(set(r) for r in by_size.values()))):
        row: dict[str, Any] = {"read": key[0], "role": key[1]}
        for size in sizes:
            found = by_size[size].get(key)
            row[str(size)] = found
        if len(sizes) >= 2 and all(by_size[s].get(key) for s in sizes[:2]):
            small, large = (by_size[s][key]["median_ms"] for s in sizes[:2])
            row["ratio"] = round(large / small, 2) if small else None
        reads.append(row)
    report["reads"] = reads
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
