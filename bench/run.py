"""The full gateway against a bare baseline and PostGraphile, on PostgreSQL, in one run.

    python bench/run.py [--households 100000] [--seconds 8] [--concurrency 16]
                        [--only q1,q2] [--fast-path on|off|both] [--postgraphile auto|yes|no]
                        [--postgraphile-releases 4,5] [--workers 1,2] [--reference DIR]

1. creates a scratch PostgreSQL database (dropped at the end, also on failure),
   migrates it, seeds it (the time is reported), writes a key file (0600) in a
   temp dir and issues tokens with `dibao token issue`: caseworker "220183100",
   partner "22", auditor "*";
2. starts `dibao serve` (production settings: policy, masking, audit, tracing
   without exporter; with `--fast-path both` a second one with DIBAO_FAST_PATH=0),
   `bench/baseline_app.py` (same resolvers, nothing in front), the limit reference
   (bench/limit_app.py) and, when Node and npm are present, PostGraphile 4 and 5
   (bench/postgraphile.py) on the same tables; every one of them (the baseline
   aside) once per process count of `--workers` (default 1 and 2);
3. for every query drives each system with wrk (bench/wrk_driver.py; else
   bench/load.py) in a separate process, with a warm-up, alternating: the
   process counts in the order 1 2 2 1 (one count's servers up at a time, so the
   shared database's connections suffice), every system once per phase, in
   reverse order the second time;
4. prints req/s, p50/p95/p99 and the server's CPU ms per request per query and
   system (mean of the two runs); per process count the ratios project ÷ the
   faster PostGraphile, ÷ limit, ÷ baseline (÷ reference); and machine facts.

Every load loop is bounded in time and aimed at 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
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


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 180) -> None:
    """Ready when 20 requests in a row are answered: with several processes behind one
    port, the first answer may come from one while another is still starting."""
    deadline = time.monotonic() + seconds
    answered = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}: {url}")
        try:
            r = httpx.post(url, json={"query": "{ __typename }"}, timeout=2)
            answered = answered + 1 if r.status_code < 500 else 0
        except httpx.HTTPError:
            answered = 0
        if answered >= 20:
            return
        if not answered:
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


def ratios(entry: dict[str, Any], n: int, mode: str, modes: list[str]) -> dict[str, Any]:
    """The project's figures over each reference at one process count (cpu: per request)."""
    project = entry.get(f"project_fast_{mode}_w{n}")
    if project is None:
        return {}

    def over(other: dict[str, Any]) -> dict[str, float | None]:
        found = compare(project, other)
        found["cpu_ms_per_request"] = ratio(
            project.get("cpu_ms_per_request"), other.get("cpu_ms_per_request")
        )
        return found

    out: dict[str, Any] = {}
    graphiles = [k for k in entry if k.startswith("postgraphile") and k.endswith(f"_w{n}")]
    if graphiles:
        best = max(graphiles, key=lambda k: entry[k]["rps"] or 0.0)
        out["postgraphile_best"] = best
        out["project_over_postgraphile_best"] = over(entry[best])
        for key in graphiles:
            out[f"project_over_{key}"] = over(entry[key])
    for name, key in (
        ("limit", f"limit_w{n}"),
        ("baseline", "baseline_w1"),
        ("reference", f"project_ref_w{n}"),
        ("fast_path_off", f"project_fast_off_w{n}" if len(modes) == 2 else ""),
    ):
        if key in entry:
            out[f"project_over_{name}"] = over(entry[key])
    return out


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
        help="auto: run PostGraphile (4 and 5) when Node and npm are present",
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
        "--workers",
        default="1,2",
        help="server process counts, comma separated: every system but the baseline runs "
        "once per count, all in the same alternating order",
    )
    parser.add_argument(
        "--postgraphile-releases", default="4,5", help="PostGraphile major releases to run"
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
    worker_counts = [int(n) for n in str(args.workers).split(",") if n]
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

        def serve(key: str, argv: list[str], server_env: dict[str, str]) -> None:
            port = free_port()
            log = tmp / f"{key}.log"
            procs.append(start_server([*argv, "--port", str(port)], server_env, log))
            urls[key] = f"http://127.0.0.1:{port}/graphql"
            pids[key] = procs[-1].pid
            try:
                wait_ready(urls[key], procs[-1])
            except RuntimeError:
                print(log.read_text(errors="replace")[-2000:], file=sys.stderr)
                raise

        modes = ["on", "off"] if args.fast_path == "both" else [args.fast_path]
        releases = [int(r) for r in args.postgraphile_releases.split(",") if r] if with_pgl else []
        binaries = {r: postgraphile.install(r) for r in releases}

        def start_phase(n: int) -> list[str]:
            """Every system (the baseline aside) with n processes; their keys in order."""
            started = len(procs)
            workers = ["--workers", str(n)] if n > 1 else []
            for mode in modes:
                server_env = {**env, "DIBAO_FAST_PATH": "1" if mode == "on" else "0"}
                argv = [str(BIN / "dibao"), "serve", "--host", "127.0.0.1", *workers]
                serve(f"project_fast_{mode}_w{n}", argv, server_env)
            if args.reference:
                dibao = Path(args.reference) / ".venv" / "bin" / "dibao"
                serve(
                    f"project_ref_w{n}", [str(dibao), "serve", "--host", "127.0.0.1", *workers], env
                )
            serve(f"limit_w{n}", [sys.executable, str(HERE / "limit_app.py"), *workers], env)
            for release, binary in binaries.items():
                key = f"postgraphile{release}_w{n}"
                port = free_port()
                procs.append(
                    postgraphile.start(
                        binary, libpq_url(url), port, tmp / f"{key}.log", release=release, workers=n
                    )
                )
                urls[key] = f"http://127.0.0.1:{port}/graphql"
                pids[key] = procs[-1].pid
                wait_ready(urls[key], procs[-1])
            return [k for k, pid in pids.items() if pid in {p.pid for p in procs[started:]}]

        def stop_phase(keys: list[str]) -> None:
            for key in keys:
                proc = next(p for p in procs if p.pid == pids[key])
                stop(proc)
                procs.remove(proc)
                del urls[key], pids[key]

        # one process only: the baseline marks the generic executor's own cost
        serve("baseline_w1", [sys.executable, str(HERE / "baseline_app.py")], env)

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
        chosen = [q for q in queries if not only or q[0] in only]
        id_base = 0
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {q[0]: {} for q in chosen}
        samples_seen: dict[str, dict[str, str]] = {q[0]: {} for q in chosen}

        def ids(mutation: bool) -> int | None:
            # 3,000,000 numbers per run (warm-up included): about 8 years of
            # birth dates each, so every run's numbers are its own and valid
            nonlocal id_base
            if not mutation:
                return None
            id_base += 3_000_000
            return id_base

        # Process counts alternate A B B A (1, 2, 2, 1): every system runs twice per
        # query, once early and once late, its order reversed the second time. One
        # count's servers at a time, so that the shared database's connections suffice.
        phases = worker_counts + list(reversed(worker_counts))
        for index, n in enumerate(phases):
            keys = start_phase(n)
            if n == 1:
                keys.append("baseline_w1")
            if index >= len(worker_counts):
                keys.reverse()
            for qname, query, variables, role, mutation in chosen:
                body = {"query": query, "variables": variables}
                for key in keys:
                    if key.startswith("project"):
                        system = (urls[key], tokens[role], body)
                    elif key.startswith("baseline") or (
                        key.startswith("limit") and qname in LIMITED
                    ):
                        system = (urls[key], None, body)
                    elif key.startswith("postgraphile") and qname in pgl_queries:
                        q, v = pgl_queries[qname]
                        system = (urls[key], None, {"query": q, "variables": v})
                    else:
                        continue
                    u, tok, b = system
                    if key not in samples_seen[qname]:
                        seen = sample(u, tok, b["query"], None if mutation else b["variables"])
                        samples_seen[qname][key] = seen
                    found = load(u, tok, b, args, ids(mutation), tmp, pids.get(key))
                    runs[qname].setdefault(key, []).append(found)
                print(f"# {qname} with {n} process(es): done", file=sys.stderr, flush=True)
            stop_phase([k for k in keys if k != "baseline_w1"])

        results: dict[str, Any] = {}
        mode = "on" if "on" in modes else "off"
        for qname, _, _, role, _ in chosen:
            entry: dict[str, Any] = {"role": role, "sample_response": samples_seen[qname]}
            for key, done in runs[qname].items():
                entry[key] = mean_of(done)
                entry[f"{key}_runs"] = done
            entry["ratios"] = {f"w{n}": ratios(entry, n, mode, modes) for n in worker_counts}
            results[qname] = entry

        report = {
            "households": args.households,
            "members": samples["members"],
            "seed_seconds": samples["seed_seconds"],
            "concurrency": args.concurrency,
            "workers": worker_counts,
            "seconds_per_run": args.seconds,
            "warmup_seconds": args.warmup,
            "driver": args.driver,
            "order": "process counts A B B A (1 2 2 1); per phase every system once, reversed "
            "in the second phase of a count; figures = mean of a system's two runs",
            "project": "dibao serve: auth, policy, masking, audit, tracing (no exporter); "
            "project_fast_on = compiled read path on, project_fast_off = generic executor",
            "baseline": "strawberry.asgi.GraphQL over build_schema(), "
            "national principal, same Runtime engine/sessions/cipher; "
            "no auth, policy, masking, audit, tracing",
            "limit": "bench/limit_app.py: raw ASGI, orjson, asyncpg, the compiled path's SQL "
            "and decryption, no GraphQL, auth, policy, audit or tracing",
            "postgraphile": {
                f"postgraphile{r}": postgraphile.version(b) for r, b in binaries.items()
            }
            or "skipped: Node/npm not found or --postgraphile no",
            "processes": "_wN = N server processes: dibao serve --workers N and limit_app.py "
            "--workers N (uvicorn's workers on one socket), PostGraphile under Node's cluster "
            "module (4: --cluster-workers N; 5: its CLI forked N times); the baseline runs "
            "one process only",
            "ratios": "per worker count: the project (compiled path on) over PostGraphile's "
            "faster release in that query and process count, over the limit reference, over "
            "the baseline (one process), over the reference checkout",
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
