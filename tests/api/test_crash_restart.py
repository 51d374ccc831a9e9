"""Crash test: `dibao serve` on PostgreSQL is killed with SIGKILL at random moments
under a mixed write workload and restarted, at least five times. Afterwards every
acknowledged write is there, nothing is half-written, no payment is doubled, and
`dibao audit verify` passes (as PostgreSQL's own crash-restart tests and Jepsen's
set test check: what was acknowledged stays, whatever happened after).

Short form here (`make test`); DIBAO_CRASH_CYCLES sets more cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from domain.enums import HouseholdStatus
from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import AuditArchive, AuditEntry, ChangeReport, Household, Member, Payment, Review
from store.seed import seed
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, id_number, issue_token, member

CYCLES = int(os.environ.get("DIBAO_CRASH_CYCLES", "5"))
SUBMIT = """mutation($input: ApplicationInput!) {
  submitApplication(input: $input) { archiveNo members { relation } } }"""
ACCEPT = "mutation($a: String!) { acceptApplication(archiveNo: $a) { archiveNo status } }"
CHANGE = """mutation($a: String!, $c: ChangeInput!) {
  reportChange(archiveNo: $a, change: $c) { archiveNo } }"""
PAY = """mutation($p: String!) { generatePayments(countyCode: "220183", period: $p) {
  batchId created } }"""
DIBAO = str(Path(sys.executable).parent / "dibao")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Acknowledged:
    submitted: dict[str, int] = field(default_factory=dict)  # archive -> members sent
    accepted: set[str] = field(default_factory=set)
    changes: Counter[str] = field(default_factory=Counter)  # archive -> reports acknowledged
    batches: dict[str, int] = field(default_factory=dict)  # batch id -> payments created
    attempts: int = 0
    failures: int = 0


class Server:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.env = {
            **os.environ,
            "DIBAO_DATABASE_URL": settings.database_url,
            "DIBAO_KEY_FILE": str(settings.key_file),
            "DIBAO_RATE_LIMITS": "default=100000/100000",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [DIBAO, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    ready = await client.get(self.url.replace("/graphql", "/readyz"))
                    if ready.status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


async def workload(
    server: Server,
    tokens: dict[str, str],
    active: dict[str, str],  # archive number -> a member's id
    ack: Acknowledged,
    stop: asyncio.Event,
) -> None:
    rng = random.Random(7)
    periods = [f"{d:%Y-%m}" for d in (dt.date.today(),)]
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            kind = rng.choice(["submit", "submit", "accept", "change", "pay"])
            if kind == "submit":
                people = [
                    member("HEAD", number=id_number()),
                    member("SPOUSE", name="李秀英", number=id_number()),
                ]
                token, query, variables = (
                    tokens["caseworker"],
                    SUBMIT,
                    {"input": application(members=people)},
                )
            elif kind == "accept" and ack.submitted:
                pending = sorted(set(ack.submitted) - ack.accepted)
                if not pending:
                    continue
                token, query, variables = tokens["caseworker"], ACCEPT, {"a": rng.choice(pending)}
            elif kind == "change" and active:
                income = f"{rng.randint(0, 900)}.{rng.randint(0, 99):02d}"
                archive_no = rng.choice(sorted(active))
                change = {
                    "kind": "INCOME",
                    "reason": "月收入变化",
                    "memberId": active[archive_no],
                    "monthlyIncome": income,
                }
                token, query, variables = (
                    tokens["caseworker"],
                    CHANGE,
                    {"a": archive_no, "c": change},
                )
            elif kind == "pay":
                token, query, variables = tokens["finance"], PAY, {"p": rng.choice(periods)}
            else:
                continue
            ack.attempts += 1
            try:
                response = await client.post(
                    server.url,
                    json={"query": query, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                )
                body = response.json()
            except (httpx.HTTPError, ValueError):
                ack.failures += 1  # not acknowledged: may or may not have happened
                await asyncio.sleep(0.02)
                continue
            data = body.get("data") if response.status_code == 200 else None
            if not data or body.get("errors"):
                ack.failures += 1
                continue
            if kind == "submit":
                household = data["submitApplication"]
                ack.submitted[household["archiveNo"]] = len(household["members"])
            elif kind == "accept":
                ack.accepted.add(data["acceptApplication"]["archiveNo"])
            elif kind == "change":
                ack.changes[data["reportChange"]["archiveNo"]] += 1
            else:
                result = data["generatePayments"]
                ack.batches[result["batchId"]] = result["created"]


@pytest.mark.postgres_only
async def test_sigkill_loses_no_acknowledged_write(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await seed(runtime.engine, runtime.cipher, households=150, seed=21)
    tokens = {
        "caseworker": await issue_token(
            runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="crash-cw"
        ),
        "finance": await issue_token(runtime, "finance_officer", "220183", principal="crash-fin"),
    }
    async with runtime.sessions() as session:
        # each active household of the township, and the id of its first member
        heads: dict[str, str] = {}
        for archive_no, member_id in await session.execute(
            select(Member.archive_no, Member.id)
            .join(Household, Household.archive_no == Member.archive_no)
            .where(
                Household.village_code.startswith(CASEWORKER_TOWNSHIP),
                Household.status == HouseholdStatus.ACTIVE.value,
            )
            .order_by(Member.archive_no, Member.position)
        ):
            heads.setdefault(archive_no, member_id)
        active = heads
    server = Server(settings)
    ack = Acknowledged()
    stop = asyncio.Event()
    rng = random.Random(11)
    await server.start()
    driver = asyncio.create_task(workload(server, tokens, active, ack, stop))
    kills = 0
    try:
        for _ in range(CYCLES):
            await asyncio.sleep(rng.uniform(0.4, 1.2))
            server.kill()  # SIGKILL: no shutdown hook, no flush, mid-request
            kills += 1
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await server.start()
        await asyncio.sleep(0.8)
    finally:
        stop.set()
        await driver
        server.kill()

    assert kills >= 5
    print(  # the figures for the record (pytest -s)
        f"crash: {kills} SIGKILLs survived; {ack.attempts} writes sent, "
        f"{ack.attempts - ack.failures} acknowledged ({len(ack.submitted)} submissions, "
        f"{len(ack.accepted)} acceptances, {sum(ack.changes.values())} change reports, "
        f"{len(ack.batches)} payment batches)"
    )
    # every kind of write must have been acknowledged at least once, or its check is empty
    assert ack.submitted and ack.batches and ack.accepted and ack.changes, (
        ack.attempts,
        ack.failures,
    )
    assert sum(ack.batches.values()) > 0, ack.batches  # some batch actually paid someone
    async with runtime.sessions() as session:
        # every acknowledged submission, whole: the household and all of its members
        found = dict(
            (
                await session.execute(
                    select(Member.archive_no, func.count())
                    .where(Member.archive_no.in_(list(ack.submitted)))
                    .group_by(Member.archive_no)
                )
            ).all()
        )
        assert found == ack.submitted
        # nothing half-written anywhere: no household without members
        orphans = await session.scalar(
            select(func.count())
            .select_from(Household)
            .where(~select(Member.id).where(Member.archive_no == Household.archive_no).exists())
        )
        assert orphans == 0
        # acknowledged acceptances stuck
        steps = set(
            (
                await session.scalars(
                    # only an acceptance writes this step (submission writes its own review)
                    select(Review.archive_no).where(
                        Review.archive_no.in_(list(ack.accepted)),
                        Review.actor == "crash-cw",
                        Review.step == "ACCEPT",
                        Review.to_status == HouseholdStatus.ACCEPTED.value,
                    )
                )
            ).all()
        )
        assert ack.accepted <= steps
        # acknowledged change reports are all there (unacknowledged ones may be too)
        for archive, acknowledged in ack.changes.items():
            stored = await session.scalar(
                select(func.count()).where(
                    ChangeReport.archive_no == archive, ChangeReport.reported_by == "crash-cw"
                )
            )
            assert (stored or 0) >= acknowledged
        # acknowledged batches are whole, and no household is paid twice for a month
        for batch, created in ack.batches.items():
            stored = await session.scalar(
                select(func.count()).select_from(Payment).where(Payment.batch_id == batch)
            )
            assert stored == created
        doubled = await session.scalar(
            select(func.count()).select_from(
                select(Payment.archive_no, Payment.period)
                .where(Payment.kind == "REGULAR")  # back pay lines are numbered apart
                .group_by(Payment.archive_no, Payment.period)
                .having(func.count() > 1)
                .subquery()
            )
        )
        assert doubled == 0
        # every change the driver's principal made has its audit entry (same transaction)
        for archive in {*ack.accepted, *ack.changes}:
            audited = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .join(AuditArchive, AuditArchive.seq == AuditEntry.seq)
                .where(
                    AuditArchive.archive_no == archive,
                    AuditEntry.principal == "crash-cw",
                    AuditEntry.outcome == "allowed",
                )
            )
            reviews = await session.scalar(
                select(func.count()).where(
                    Review.archive_no == archive,
                    Review.actor == "crash-cw",
                    # written by the change report that raised the income above the line,
                    # in its request: one entry for both
                    Review.step != "ENTER_GRADUAL_EXIT",
                )
            )
            changes = await session.scalar(
                select(func.count()).where(
                    ChangeReport.archive_no == archive, ChangeReport.reported_by == "crash-cw"
                )
            )
            assert (audited or 0) >= (reviews or 0) + (changes or 0), archive

    verify = await asyncio.to_thread(
        subprocess.run,
        [DIBAO, "audit", "verify"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
