"""The worst documents a credential can send, and what a flood of them does to others.

Prints JSON. For each hostile document: its size, the milliseconds the service
took to answer it (through the whole pipeline: authentication, limits, audit),
milliseconds per KB, the same above the floor (the median of a trivial
`{ __typename }` by the same credentials: authentication and the audit write),
its error code, and for reference, in the same run, what
graphql-core's validate() alone would have spent on it (what the service spent
before limits ran ahead of validation). Then a flood: one partner credential
sends those documents, each with a fresh comment, as fast as it can, while
other callers send ordinary reads; their p50/p99 are reported next to the same
reads measured with no flood. The load average before and after is printed: the
numbers mean little on a machine busy with other work.

    python bench/worst_document.py [--households 2000] [--seconds 10] [--server-process]

By default the service runs in the benchmark's own event loop (ASGI transport),
so the flooding client's work competes with the server's. `--server-process`
starts `dibao serve` in its own process on the same database and sends real
HTTP instead, as callers would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from graphql import parse, validate

from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from policies.engine import default_rules
from schema.root import build_schema
from store.credentials import issue_credential
from store.migrate import upgrade
from store.seed import seed
from store.types import utcnow

TOWNSHIP = "220183100"
FAN = " ".join(
    f"fragment F{i} on HouseholdConnection {{ " + f"...F{i + 1} " * 10 + "}" for i in range(6)
)
WORST: dict[str, str] = {
    # STACK-NOTES: seconds inside validate() before limits ran ahead of it
    "aliases_330_pairs": "{ " + "a:__typename a:credentials " * 330 + "}",
    "repeated_field_500": "{ " + "households { totalCount } " * 499 + "}",
    "fragment_fan_out_10^6": "{ households { ...F0 } } "
    + FAN
    + " fragment F6 on HouseholdConnection { totalCount }",
    "fragment_cycle": "{ households { ...A } } fragment A on HouseholdConnection { ...B } "
    "fragment B on HouseholdConnection { totalCount ...A }",
    "tokens_over_limit": "{ households { " + "totalCount " * 5000 + "} }",
    "comment_padded_250kb": "#" + "x" * 250_000 + "\n{ __typename }",
    # the largest text under the byte cap: one lexing pass over it, then cached
    "comment_padded_under_cap": "#" + "x" * 32_000 + "\n{ __typename }",
    # each call scans the scope (3 s for 15 on 32k households): priced as a scan now,
    # so the document is refused before any runs (a supervisor, or a partner granted it)
    "statistics_aliases_15": "{ "
    + " ".join(
        f's{i}: statistics(period: "2026-10") '
        "{ byStatus { householdsLabel } byCategory { householdsLabel } }"
        for i in range(15)
    )
    + " }",
    "deepest_valid": "{ households { edges { node { members { name } } } } }",
    "page_500_all_lists": "{ households(first: 500) { edges { node { archiveNo "
    "members { name idNumber phone } payments { period amount } reviews { step } } } } }",
    "largest_accepted": "{ households(first: 30) { totalCount edges { cursor node { archiveNo "
    "status address members { name idNumber phone relation monthlyIncome } "
    "payments { period amount status } reviews { step toStatus } } } } }",
}
LIGHT = "{ households(first: 5) { totalCount edges { node { archiveNo status } } } }"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def token(runtime: Runtime, role: str, region: str, principal: str) -> str:
    async with runtime.sessions.begin() as session:
        _, issued = await issue_credential(
            session,
            principal=principal,
            role=role,
            region=region,
            ttl=dt.timedelta(days=1),
            fields=None,
            now=utcnow(),
        )
    return issued


async def post(client: httpx.AsyncClient, bearer: str, query: str) -> tuple[float, Any]:
    start = time.perf_counter()
    response = await client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {bearer}"}
    )
    elapsed = time.perf_counter() - start
    if response.status_code == 429:
        return elapsed, "RATE_LIMITED"
    body = response.json()
    errors = body.get("errors") or []
    return elapsed, errors[0]["extensions"]["code"] if errors else "OK"


@contextlib.asynccontextmanager
async def serving(
    app: Any, settings: Settings, folder: Path, separate: bool
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service: in this process, or of `dibao serve` in its own."""
    if not separate:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                yield client
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "DIBAO_AUDIT_ANCHOR_FILE": str(folder / "anchors.jsonl"),
    }
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("dibao")),
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            yield client
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def main(
    households: int, seconds: float, separate: bool = False, database_url: str | None = None
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="dibao-bench-"))
    url = database_url or f"sqlite+aiosqlite:///{folder}/b.db"
    settings = Settings(database_url=url, key_file=folder / "k")
    runtime = Runtime.from_settings(settings, traced=False)
    await upgrade(runtime.engine, shipped_rules=default_rules())
    await seed(runtime.engine, runtime.cipher, households=households, seed=1)
    app = create_app(settings, runtime)
    schema = build_schema()._schema
    report: dict[str, Any] = {
        "households": households,
        "database": settings.database_url.split(":", 1)[0],
        "load_average_before": os.getloadavg(),
        "documents": {},
    }
    light = parse(LIGHT)
    start = time.perf_counter()
    for _ in range(100):
        validate(schema, light)
    # a machine-speed yardstick in the same run: one ordinary validation
    report["reference_validate_light_ms"] = ms((time.perf_counter() - start) / 100)
    report["server"] = "own process" if separate else "in the benchmark's event loop"
    async with serving(app, settings, folder, separate) as client:
        tokens = {
            role: await token(runtime, role, region, f"bench-{role}")
            for role, region in (
                ("caseworker", TOWNSHIP),
                ("county_reviewer", TOWNSHIP[:6]),
                ("supervisor", "22"),
                ("partner", "22"),
            )
        }
        floor: list[float] = []
        for bearer in tokens.values():
            for i in range(10):
                elapsed, _ = await post(client, bearer, f"# floor {i}\n{{ __typename }}")
                floor.append(elapsed)
        report["floor_ms"] = ms(statistics.median(floor))
        for name, query in WORST.items():
            times: list[float] = []
            worst = 0.0
            code = ""
            for role, bearer in tokens.items():
                for i in range(3):  # a fresh comment each time: no cache helps
                    elapsed, found = await post(client, bearer, f"# {role} {i}\n{query}")
                    times.append(elapsed)
                    if elapsed > worst:
                        worst, code = elapsed, found
            kb = len(query.encode()) / 1024
            try:
                document = parse(query)
                start = time.perf_counter()
                validate(schema, document)
                reference: float | None = ms(time.perf_counter() - start)
            except Exception:
                reference = None
            report["documents"][name] = {
                "kb": round(kb, 1),
                "median_ms": ms(statistics.median(times)),
                "worst_ms": ms(worst),
                "median_ms_per_kb": round(statistics.median(times) * 1000 / kb, 3),
                "over_floor_ms_per_kb": round(
                    max(0.0, statistics.median(times) - statistics.median(floor)) * 1000 / kb,
                    3,
                ),
                "code": code,
                "validate_alone_ms": reference,
            }

        async def reader(bearer: str, until: float, out: list[float]) -> None:
            while time.perf_counter() < until:
                elapsed, _ = await post(client, bearer, LIGHT)
                out.append(elapsed)
                await asyncio.sleep(0.01)

        async def flood(bearer: str, until: float, codes: dict[str, int]) -> None:
            counter = itertools.count()
            hostile = [q for n, q in WORST.items() if "accepted" not in n]
            while time.perf_counter() < until:
                query = hostile[next(counter) % len(hostile)]
                _, code = await post(client, bearer, f"# {next(counter)}\n{query}")
                codes[code] = codes.get(code, 0) + 1

        others = [tokens["caseworker"], tokens["county_reviewer"], tokens["supervisor"]]
        quiet: list[float] = []
        until = time.perf_counter() + seconds / 2
        await asyncio.gather(*(reader(b, until, quiet) for b in others))
        loud: list[float] = []
        codes: dict[str, int] = {}
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(reader(b, until, loud) for b in others),
            *(flood(tokens["partner"], until, codes) for _ in range(8)),
        )
        report["flood"] = {
            "others_without_flood": {
                "requests": len(quiet),
                "p50_ms": ms(statistics.median(quiet)),
                "p99_ms": ms(percentile(quiet, 0.99)),
            },
            "others_during_flood": {
                "requests": len(loud),
                "p50_ms": ms(statistics.median(loud)),
                "p99_ms": ms(percentile(loud, 0.99)),
            },
            "partner_answers": codes,
        }
    await runtime.engine.dispose()
    report["load_average_after"] = os.getloadavg()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--server-process", action="store_true")
    parser.add_argument(
        "--database-url", help="an empty scratch database (default: a new SQLite file)"
    )
    args = parser.parse_args()
    report = asyncio.run(
        main(args.households, args.seconds, args.server_process, args.database_url)
    )
    print(json.dumps(report, indent=2))
