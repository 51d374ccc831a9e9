"""The full gateway against a bare baseline, on PostgreSQL, in one run; prints JSON.

    python bench/run.py [--households 20000] [--seconds 10] [--concurrency 16]

The issue's size is `--households 100000` (seeding takes a few minutes); 20,000 is
the quick default. One run:

1. creates a scratch PostgreSQL database (dropped at the end, also on failure),
   migrates it, seeds it, writes a key file (0600) in a temp dir and issues
   tokens with `dibao token issue`: caseworker "220183100", partner "22", auditor "*";
2. starts `dibao serve` (production settings: policy, masking, audit, tracing
   without exporter) and `bench/baseline_app.py` (same resolvers, nothing in front);
3. for every query runs `bench/load.py` in a separate process against the
   project, then the baseline, then the project again (each with a warm-up);
4. prints req/s and p50/p95/p99 per query and system, project/baseline ratios
   (project = mean of its two runs) and machine facts.

Every load loop is bounded in time and count and aimed at 127.0.0.1 only.
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
from store.crypto import Cipher, KeyRing
from store.db import create_engine
from store.migrate import upgrade
from store.models import Household, Member
from store.seed import seed

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
        await upgrade(engine)
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


def issue(env: dict[str, str], principal: str, role: str, region: str) -> str:
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


def load(
    url: str, token: str | None, query_file: Path, args: argparse.Namespace, fresh_ids: int | None
) -> dict[str, Any]:
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
    keys = ("rps", "p50_ms", "p95_ms", "p99_ms")
    merged: dict[str, Any] = {
        k: round(sum(r[k] for r in runs) / len(runs), 2)
        if all(r[k] is not None for r in runs)
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
        "loopback_http": "HTTP/1.1, httpx connection pool, load generator in its own process",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=20000, help="the issue's size is 100000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", default="", help="comma separated query names to run")
    parser.add_argument("--postgraphile", action="store_true", help="(not implemented: skipped)")
    args = parser.parse_args()

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
        samples = asyncio.run(prepare(url, key_file, args.households, args.seed))
        env = {**os.environ, "DIBAO_DATABASE_URL": url, "DIBAO_KEY_FILE": str(key_file)}
        for var in [v for v in env if v.startswith("OTEL_EXPORTER")]:
            env.pop(var)  # tracing on, no exporter
        tokens = {
            "caseworker": issue(env, "bench-caseworker", "caseworker", CASEWORKER_SCOPE),
            "partner": issue(env, "bench-partner", "partner", PARTNER_SCOPE),
            "auditor": issue(env, "bench-auditor", "auditor", "*"),
        }

        project_port, baseline_port = free_port(), free_port()
        log_project = (tmp / "project.log").open("wb")
        log_baseline = (tmp / "baseline.log").open("wb")
        procs.append(
            subprocess.Popen(  # noqa: S603 (our own fixed argv)
                [str(BIN / "dibao"), "serve", "--host", "127.0.0.1", "--port", str(project_port)],
                env=env,
                cwd=ROOT,
                stdout=log_project,
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(  # noqa: S603 (our own fixed argv)
                [sys.executable, str(HERE / "baseline_app.py"), "--port", str(baseline_port)],
                env=env,
                cwd=ROOT,
                stdout=log_baseline,
                stderr=subprocess.STDOUT,
            )
        )
        project_url = f"http://127.0.0.1:{project_port}/graphql"
        baseline_url = f"http://127.0.0.1:{baseline_port}/graphql"
        wait_ready(project_url, procs[0])
        wait_ready(baseline_url, procs[1])

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
            qfile = tmp / f"{qname}.json"
            qfile.write_text(json.dumps({"query": query, "variables": variables}), encoding="utf-8")

            bases = [id_base + i * 1_000_000 if mutation else None for i in (1, 2, 3)]
            id_base += 3_000_000 if mutation else 0
            samples_seen = {
                system: sample(u, tok, query, variables if not mutation else None)
                for system, u, tok in (
                    ("project", project_url, tokens[role]),
                    ("baseline", baseline_url, None),
                )
            }
            p1 = load(project_url, tokens[role], qfile, args, bases[0])
            base = load(baseline_url, None, qfile, args, bases[1])
            p2 = load(project_url, tokens[role], qfile, args, bases[2])
            project = mean_of([p1, p2])
            results[qname] = {
                "role": role,
                "sample_response": samples_seen,
                "project": project,
                "project_runs": [p1, p2],
                "baseline": base,
                "ratio_project_over_baseline": {
                    "rps": ratio(project["rps"], base["rps"]),
                    "p50": ratio(project["p50_ms"], base["p50_ms"]),
                    "p95": ratio(project["p95_ms"], base["p95_ms"]),
                    "p99": ratio(project["p99_ms"], base["p99_ms"]),
                },
            }
            print(f"# {qname}: done", file=sys.stderr, flush=True)

        report = {
            "households": args.households,
            "members": samples["members"],
            "seed_seconds": samples["seed_seconds"],
            "concurrency": args.concurrency,
            "seconds_per_run": args.seconds,
            "warmup_seconds": args.warmup,
            "order": "project, baseline, project per query; project = mean of the two runs",
            "baseline": "strawberry.asgi.GraphQL over build_schema(gate=False), "
            "national principal, same Runtime engine/sessions/cipher; "
            "no auth, policy, masking, audit, tracing",
            "postgraphile": "skipped: "
            + (
                "not implemented in this harness"
                if args.postgraphile
                else "not requested (--postgraphile)"
            ),
            "machine": machine(pg_version),
            "queries": results,
            "wall_seconds": round(time.perf_counter() - wall_start, 1),
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        for proc in procs:
            stop(proc)
        if created:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
