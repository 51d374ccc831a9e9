"""Verification at rest: findings sealed per subject, and the release's policy rules
arriving with their migration (a fresh database has made no policy change)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.verification import Department, Findings
from gateway.runtime import Runtime
from policies.engine import default_rules
from store import verification as store
from store.models import Member, PolicyRule, VerificationSubject
from store.policy import policy_version, rule_tuple
from store.seed import seed


async def test_a_fresh_database_holds_the_shipped_policy_at_version_one(
    runtime: Runtime,
) -> None:
    async with runtime.sessions() as session:
        assert await policy_version(session) == 1  # no release change to look like use
        held = {rule_tuple(r) for r in (await session.scalars(select(PolicyRule))).all()}
    assert held == set(default_rules())


async def test_findings_are_ciphertext_bound_to_their_subject(runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=3, seed=2)
    now = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)
    async with runtime.sessions.begin() as session:
        archive_no = await session.scalar(select(Member.archive_no).limit(1))
        assert archive_no is not None
        (request,) = await store.create_requests(
            session,
            archive_no=archive_no,
            departments=[Department.BANK],
            consent_document="SQ-1",
            actor="cw",
            now=now,
            due_on=now.date(),
        )
        subjects = (
            await session.scalars(
                select(VerificationSubject).where(VerificationSubject.request_id == request.id)
            )
        ).all()
        secret = Decimal("987654.32")
        await store.answer(
            session,
            runtime.cipher,
            answers=[(request.id, {s.id: Findings(deposits=secret) for s in subjects})],
            department=Department.BANK.value,
            scope="",
            actor="bank",
            now=now,
        )
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(VerificationSubject))).all()
    assert rows and all(r.findings_enc for r in rows)
    for row in rows:
        assert row.findings_enc is not None
        assert str(secret).encode() not in row.findings_enc
        with pytest.raises(Exception):  # noqa: B017, PT011 - sealed to its own row only
            runtime.cipher.decrypt(
                row.findings_enc, table="verification_subjects", column="findings", row_id="x"
            )
