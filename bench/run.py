"""The full gateway against a bare baseline and PostGraphile, on PostgreSQL, in one run.

    python bench/run.py [--households 100000] [--seconds 8] [--concurrency 16]
                        [--only q1,q2] [--fast-path on|off|both] [--postgraphile auto|yes|no]

1. creates a scratch PostgreSQL database (dropped at the end, also on failure),
   migrates it, seeds it (the time is reported), writes a key file (0600) in a
   temp dir and issues tokens with `dibao token issue`: caseworker "220183100",
   partner "22", auditor "*";
2. starts `dibao serve` (production settings: policy, masking, audit, tracing
   without exporter; with `--fast-path both` a second one with DIBAO_FAST_PATH=0),
   `bench/baseline_app.py` (same resolvers, nothing in front) and, when Node and
   npm are present, PostGraphile 4 (bench/postgraphile.py) on the same tables;
3. for every query drives each system with wrk (bench/wrk_driver.py; else
   bench/load.py) in a separate process, with a warm-up, alternating: every
   system once, then every system again in reverse order;
4. prints req/s and p50/p95/p99 per query and system (mean of the two runs), the
   ratios project/baseline and project/PostGraphile, and machine facts.

Every load loop is bounded in time and aimed at 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from domain.enums import HouseholdStatus
from policies.engine import default_rules
from store.crypto import Cipher, KeyRing
from store.db import create_engine
from store.migrate import upgrade
from store.models import Household, Member
from store.seed import seed

sys.path.insert(0, str(Path(__file__).resolve().parent))
import postgraphile
import wrk_driver

ADMIN = os.environ.get(
    "DIBAO_BENCH_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
CASEWORKER_SCOPE, PARTNER_SCOPE = "220183100", "22"

PARTNER_PAGE = """query PartnerPage { households(first: 50) { edges { node {
  archiveNo regionCode area status members { relation name idNumber } } } } }"""
CASEWORKER_PAGE = """query CaseworkerPage { households(first: 50) { edges { node {
  archiveNo regionCode area status address monthlyBenefit reviewClass
  members { relation name idNumber monthlyIncome } } } } }"""
POINT = """query Point($archiveNo: String!) { household(archiveNo: $archiveNo) {
  archiveNo regionCode area status address monthlyBenefit reviewClass
  members { relation name idNumber monthlyIncome } } }"""
VERIFY = """query Verify($idNumber: String!) { verifyRecipient(idNumber: $idNumber) {
  isRecipient status countyCode name idNumber } }"""
AUDIT = """query Audit { auditEvents(first: 50) { edges { node {
  seq time principal role scope operationType operationName outcome archiveNos } } } }"""
SUBMIT = """mutation Submit($input: ApplicationInput!) {
  submitApplication(input: $input) { archiveNo status } }"""
APPLICATION = {
    "villageCode": "220183100001",
    "address": "幸福路 12 号",
    "bankAccount": "6222021234567890123",
    "bankName": "农村信用社",
    "members": [
        {"name": "王建国", "idNumber": "", "relation": "HEAD", "monthlyIncome": "300.00"},
        {"name": "李秀英", "idNumber": "", "relation": "SPOUSE", "monthlyIncome": "0.00"},
    ],
}


# the reads bench/limit_app.py answers, with the compiled path's SQL and no GraphQL
LIMITED = ("households_page_partner", "households_page_caseworker", "household_point")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def admin(statement: str) -> str | None:
    engine = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(statement))
            return str(result.scalar()) if result.returns_rows else None
    finally:
        await engine.dispose()


async def prepare(url: str, key_file: Path, households: int, seed_value: int) -> dict[str, Any]:
    """Migrate, seed, and pick the samples the queries need."""
    cipher = Cipher(KeyRing.from_json(key_file.read_bytes()))  # noqa: ASYNC240
    engine = create_engine(url)
    try:
        await upgrade(engine, shipped_rules=default_rules())
        started = time.perf_counter()
        report = await seed(engine, cipher, households=households, seed=seed_value)
        seeded = time.perf_counter() - started
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
            archive_no = await conn.scalar(
                select(Household.archive_no)
                .where(Household.village_code.startswith(CASEWORKER_SCOPE))
                .order_by(Household.archive_no)
                .limit(1)
            )
            member = (
                await conn.execute(
                    select(Member.id, Member.id_number_enc)
                    .join(Household, Household.archive_no == Member.archive_no)
                    .where(
                        Household.village_code.startswith(PARTNER_SCOPE),
                        Household.status == HouseholdStatus.ACTIVE.value,
                    )
                    .order_by(Member.id)
                    .limit(1)
                )
            ).one()
    finally:
        await engine.dispose()
    id_number = cipher.decrypt(
        member.id_number_enc, table="members", column="id_number", row_id=member.id
    )
    return {
        "archive_no": archive_no,
        "id_number": id_number,
        "seed_seconds": round(seeded, 1),
        "members": report.members,
    }


# what the benchmark's partner agreement lists: its page and the verification entry point
PARTNER_FIELDS = (
    "Query.households,Household.archiveNo,Household.regionCode,Household.area,"
    "Household.status,Household.members,Member.relation,Member.name,Member.idNumber,"
    "Query.verifyRecipient,RecipientCheck.isRecipient,RecipientCheck.status,"
    "RecipientCheck.countyCode,RecipientCheck.name,RecipientCheck.idNumber"
)


def issue(
    env: dict[str, str], principal: str, role: str, region: str, fields: str | None = None
) -> str:
    listed = ["--fields", fields] if fields is not None else []
    out = subprocess.run(  # noqa: S603 (our own fixed argv)
        [
            str(BIN / "dibao"),
            "token",
            "issue",
            "--principal",
            principal,
            "--role",
            role,
            "--region",
            region,
            *listed,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout.strip().splitlines()[-1].strip()


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}: {url}")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.post(url, json={"query": "{ __typename }"}, timeout=2)
            if r.status_code < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"server not ready: {url}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants (a server's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in family)


def load(
    url: str,
    token: str | None,
    body: dict[str, Any],
    args: argparse.Namespace,
    fresh_ids: int | None,
    tmp: Path,
    pid: int | None = None,
) -> dict[str, Any]:
    """One measured run (after a warm-up) with wrk when present, else bench/load.py.
    With wrk and the server's pid: its CPU milliseconds per request, a figure that
    holds better than req/s on a machine shared with other work."""
    if args.driver == "wrk":
        lua = wrk_driver.script(
            json.loads(json.dumps(body)), token, fresh_ids, tmp / f"run-{uuid.uuid4().hex}.lua"
        )
        started: list[float] = []
        result = wrk_driver.run(
            url,
            lua,
            concurrency=args.concurrency,
            seconds=args.seconds,
            warmup=args.warmup,
            base=fresh_ids or 0,
            measured=(lambda: started.append(cpu_seconds(pid))) if pid else None,
        )
        if pid and started and result["requests"]:
            spent = cpu_seconds(pid) - started[0]
            result["cpu_ms_per_request"] = round(spent * 1000 / result["requests"], 3)
        return result
    query_file = tmp / f"run-{uuid.uuid4().hex}.json"
    query_file.write_text(json.dumps(body), encoding="utf-8")
    cmd = [
        sys.executable,
        str(HERE / "load.py"),
        "--url",
        url,
        "--query-file",
        str(query_file),
        "--concurrency",
        str(args.concurrency),
        "--seconds",
        str(args.seconds),
        "--warmup",
        str(args.warmup),
    ]
    if token:
        cmd += ["--token", token]
    if fresh_ids is not None:
        cmd += ["--fresh-ids", str(fresh_ids)]
    out = subprocess.run(  # noqa: S603 (our own fixed argv)
        cmd, capture_output=True, text=True, check=True, timeout=args.seconds + args.warmup + 120
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def sample(url: str, token: str | None, query: str, variables: dict[str, Any] | None) -> str:
    """The start of one response, to show what each system answers (mutations: skipped)."""
    if variables is None:
        return "(mutation: not sampled)"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = httpx.post(url, json={"query": query, "variables": variables}, headers=headers, timeout=30)
    return f"{r.status_code} {r.text[:240]}"


def mean_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("rps", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_request")
    merged: dict[str, Any] = {
        k: round(sum(r[k] for r in runs) / len(runs), 3)
        if all(r.get(k) is not None for r in runs)
        else None
        for k in keys
    }
    merged["requests"] = sum(r["requests"] for r in runs)
    merged["errors"] = sum(r["errors"] for r in runs)
    return merged


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def machine(pg_version: str | None) -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgresql": pg_version,
        "loopback_http": "HTTP/1.1 keep-alive; load generator (wrk or load.py) in its own process",
    }


def start_server(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 (our own fixed argv)
        argv, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def libpq_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgres://", 1)


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    return {
        "rps": ratio(a["rps"], b["rps"]),
        "p50": ratio(a["p50_ms"], b["p50_ms"]),
        "p95": ratio(a["p95_ms"], b["p95_ms"]),
        "p99": ratio(a["p99_ms"], b["p99_ms"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", default="", help="comma separated query names to run")
    parser.add_argument(
        "--postgraphile",
        choices=("auto", "yes", "no"),
        default="auto",
        help="auto: run PostGraphile 4 when Node and npm are present",
    )
    parser.add_argument(
        "--driver", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--fast-path",
        choices=("on", "off", "both"),
        default="on",
        help="the project's compiled read path (both: run the project twice, on and off)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes of the project (and reference)"
    )
    parser.add_argument(
        "--reference",
        default="",
        help="another checkout with its own .venv (e.g. the main branch): its `dibao serve` "
        "runs as project_ref, alternating with this one, for before/after in one run",
    )
    args = parser.parse_args()
    if args.driver == "auto":
        args.driver = "wrk" if wrk_driver.available() else "python"
    with_pgl = args.postgraphile == "yes" or (
        args.postgraphile == "auto" and postgraphile.available()
    )

    wall_start = time.perf_counter()
    name = f"dibao_bench_{uuid.uuid4().hex[:8]}"
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    tmp = Path(tempfile.mkdtemp(prefix="dibao-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    created = False
    try:
        pg_version = asyncio.run(admin("SELECT version()"))
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        created = True
        key_file = tmp / "keys.json"
        key_file.write_bytes(KeyRing.generate().to_json())
        key_file.chmod(0o600)
        print(f"# seeding {args.households} households", file=sys.stderr, flush=True)
        samples = asyncio.run(prepare(url, key_file, args.households, args.seed))
        env = {
            **os.environ,
            "DIBAO_DATABASE_URL": url,
            "DIBAO_KEY_FILE": str(key_file),
            # the load generator is one credential per role at full speed: no rate limit
            "DIBAO_RATE_LIMITS": "default=1000000/1000000,partner=1000000/1000000",
            "DIBAO_LOOKUP_QUOTAS": "default=1000000/1000000,partner=1000000/1000000",
        }
        for var in [v for v in env if v.startswith("OTEL_EXPORTER")]:
            env.pop(var)  # tracing on, no exporter
        tokens = {
            "caseworker": issue(env, "bench-caseworker", "caseworker", CASEWORKER_SCOPE),
            "partner": issue(env, "bench-partner", "partner", PARTNER_SCOPE, PARTNER_FIELDS),
            "auditor": issue(env, "bench-auditor", "auditor", "*"),
        }

        urls: dict[str, str] = {}
        pids: dict[str, int] = {}
        workers = ["--workers", str(args.workers)] if args.workers > 1 else []
        modes = ["on", "off"] if args.fast_path == "both" else [args.fast_path]
        for mode in modes:
            port = free_port()
            server_env = {**env, "DIBAO_FAST_PATH": "1" if mode == "on" else "0"}
            argv = [str(BIN / "dibao"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            argv += workers
            procs.append(start_server(argv, server_env, tmp / f"project-{mode}.log"))
            urls[f"project_fast_{mode}"] = f"http://127.0.0.1:{port}/graphql"
            pids[f"project_fast_{mode}"] = procs[-1].pid
            wait_ready(urls[f"project_fast_{mode}"], procs[-1])
        if args.reference:
            port = free_port()
            dibao = Path(args.reference) / ".venv" / "bin" / "dibao"
            argv = [str(dibao), "serve", "--host", "127.0.0.1", "--port", str(port), *workers]
            procs.append(start_server(argv, env, tmp / "project-ref.log"))
            urls["project_ref"] = f"http://127.0.0.1:{port}/graphql"
            pids["project_ref"] = procs[-1].pid
            wait_ready(urls["project_ref"], procs[-1])
        port = free_port()
        argv = [sys.executable, str(HERE / "limit_app.py"), "--port", str(port), *workers]
        procs.append(start_server(argv, env, tmp / "limit.log"))
        urls["limit"] = f"http://127.0.0.1:{port}/graphql"
        pids["limit"] = procs[-1].pid
        wait_ready(urls["limit"], procs[-1])
        port = free_port()
        argv = [sys.executable, str(HERE / "baseline_app.py"), "--port", str(port)]
        procs.append(start_server(argv, env, tmp / "baseline.log"))
        urls["baseline"] = f"http://127.0.0.1:{port}/graphql"
        pids["baseline"] = procs[-1].pid
        wait_ready(urls["baseline"], procs[-1])
        if with_pgl:
            port = free_port()
            procs.append(
                postgraphile.start(
                    postgraphile.install(), libpq_url(url), port, tmp / "postgraphile.log"
                )
            )
            urls["postgraphile"] = f"http://127.0.0.1:{port}/graphql"
            pids["postgraphile"] = procs[-1].pid
            wait_ready(urls["postgraphile"], procs[-1])

        pgl_queries = {
            "households_page_partner": (postgraphile.PAGE, {}),
            "households_page_caseworker": (postgraphile.PAGE_WIDE, {}),
            "household_point": (postgraphile.POINT, {"archiveNo": samples["archive_no"]}),
        }
        queries: list[tuple[str, str, dict[str, Any], str, bool]] = [
            ("households_page_partner", PARTNER_PAGE, {}, "partner", False),
            ("households_page_caseworker", CASEWORKER_PAGE, {}, "caseworker", False),
            ("household_point", POINT, {"archiveNo": samples["archive_no"]}, "caseworker", False),
            ("verify_recipient", VERIFY, {"idNumber": samples["id_number"]}, "partner", False),
            ("audit_events_page", AUDIT, {}, "auditor", False),
            ("submit_application", SUBMIT, {"input": APPLICATION}, "caseworker", True),
        ]
        only = {q for q in args.only.split(",") if q}
        results: dict[str, Any] = {}
        id_base = 0
        for qname, query, variables, role, mutation in queries:
            if only and qname not in only:
                continue
            body = {"query": query, "variables": variables}

            def ids() -> int | None:
                # 3,000,000 numbers per run (warm-up included): about 8 years of
                # birth dates each, so every run's numbers are its own and valid
                nonlocal id_base
                if not mutation:  # noqa: B023 (read at once)
                    return None
                id_base += 3_000_000
                return id_base

            systems: dict[str, tuple[str, str | None, dict[str, Any]]] = {
                key: (u, tokens[role], body) for key, u in urls.items() if key.startswith("project")
            }
            systems["baseline"] = (urls["baseline"], None, body)
            if qname in LIMITED:
                systems["limit"] = (urls["limit"], None, body)
            if "postgraphile" in urls and qname in pgl_queries:
                q, v = pgl_queries[qname]
                systems["postgraphile"] = (urls["postgraphile"], None, {"query": q, "variables": v})
            entry: dict[str, Any] = {
                "role": role,
                "sample_response": {
                    key: sample(u, tok, b["query"], None if mutation else b["variables"])
                    for key, (u, tok, b) in systems.items()
                },
            }
            runs: dict[str, list[dict[str, Any]]] = {key: [] for key in systems}
            # alternate: every system once, then every system again in reverse order
            order = list(systems) + list(reversed(systems))
            for key in order:
                u, tok, b = systems[key]
                runs[key].append(load(u, tok, b, args, ids(), tmp, pids.get(key)))
            for key, done in runs.items():
                entry[key] = mean_of(done)
                entry[f"{key}_runs"] = done
            project_key = "project_fast_on" if "project_fast_on" in systems else "project_fast_off"
            entry["ratio_project_over_baseline"] = compare(entry[project_key], entry["baseline"])
            if "limit" in systems:
                entry["ratio_project_over_limit"] = compare(entry[project_key], entry["limit"])
            if "postgraphile" in systems:
                entry["ratio_project_over_postgraphile"] = compare(
                    entry[project_key], entry["postgraphile"]
                )
            if "project_ref" in systems:
                entry["ratio_project_over_reference"] = compare(
                    entry[project_key], entry["project_ref"]
                )
            if len(modes) == 2:
                entry["ratio_fast_on_over_off"] = compare(
                    entry["project_fast_on"], entry["project_fast_off"]
                )
            results[qname] = entry
            print(f"# {qname}: done", file=sys.stderr, flush=True)

        report = {
            "households": args.households,
            "members": samples["members"],
            "seed_seconds": samples["seed_seconds"],
            "concurrency": args.concurrency,
            "workers": args.workers,
            "seconds_per_run": args.seconds,
            "warmup_seconds": args.warmup,
            "driver": args.driver,
            "order": "each system twice per query (A B C, then C B A); figures = mean of the two",
            "project": "dibao serve: auth, policy, masking, audit, tracing (no exporter); "
            "project_fast_on = compiled read path on, project_fast_off = generic executor",
            "baseline": "strawberry.asgi.GraphQL over build_schema(), "
            "national principal, same Runtime engine/sessions/cipher; "
            "no auth, policy, masking, audit, tracing",
            "limit": "bench/limit_app.py: raw ASGI, orjson, asyncpg, the compiled path's SQL "
            "and decryption, no GraphQL, auth, policy, audit or tracing",
            "postgraphile": "PostGraphile 4 (Node, npm) on the same database, same rows and values"
            if with_pgl
            else "skipped: Node/npm not found or --postgraphile no",
            "machine": machine(pg_version),
            "queries": results,
            "wall_seconds": round(time.perf_counter() - wall_start, 1),
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        for proc in procs:
            stop(proc)
        if created and not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
