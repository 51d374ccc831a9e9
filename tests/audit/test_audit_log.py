"""One audit entry per request, whatever the outcome; chained, verifiable, fail-closed."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.chain import AuditChain, verify
from audit.record import AuditRecord
from gateway.runtime import Runtime
from store.models import AuditEntry, Household
from store.types import utcnow
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

SUBMIT = (
    "mutation Submit($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
)
READ = "query Read($a: String!) { household(archiveNo: $a) { archiveNo status members { name idNumber } } }"


async def entries(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all()
    return [{"seq": r.seq, **orjson.loads(r.entry)} for r in rows]


async def test_every_outcome_leaves_exactly_one_entry(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-1")
    supervisor = await issue_token(runtime, "supervisor", "22", principal="sup-1")
    partner = await issue_token(
        runtime, "partner", "22", principal="partner-1", fields=["Query.household"]
    )
    shared = id_number()
    created = await api.gql(
        worker, SUBMIT, {"input": application(members=[member("HEAD", number=shared)])}
    )
    archive = created["data"]["submitApplication"]["archiveNo"]
    expected = ["allowed"]

    async def step(outcome: str, call: Any) -> None:
        await call
        expected.append(outcome)

    await step("allowed", api.gql(worker, READ, {"a": archive}))
    await step("masked", api.gql(supervisor, READ, {"a": archive}))
    await step(
        "denied",
        api.gql(
            partner,
            "query($a: String!) { household(archiveNo: $a) { bankAccount } }",
            {"a": archive},
        ),
    )
    await step("invalid", api.gql(worker, "{ households { "))
    await step(
        "invalid",
        api.client.post(
            "/graphql",
            content=b"[1,2",
            headers={"authorization": f"Bearer {worker}", "content-type": "application/json"},
        ),
    )
    await step("too_complex", api.gql(worker, "{ households { " + "totalCount " * 2100 + "} }"))
    await step("unauthenticated", api.client.post("/graphql", json={"query": "{ __typename }"}))
    await step(
        "unauthenticated",
        api.client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": "Bearer dibao_wrong"},
        ),
    )
    await step(
        "refused",
        api.gql(worker, SUBMIT, {"input": application(members=[member("HEAD", number=shared)])}),
    )
    await step("invalid", api.client.get("/graphql"))
    async with runtime.sessions.begin() as session:  # a ciphertext moved from another row
        moved = runtime.cipher.encrypt(
            "6222021234567890", table="households", column="bank_account", row_id="x"
        )
        await session.execute(
            update(Household).where(Household.archive_no == archive).values(bank_account_enc=moved)
        )
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fin-1")
    await step(
        "failed",
        api.gql(
            finance,
            "query($a: String!) { household(archiveNo: $a) { bankAccount } }",
            {"a": archive},
        ),
    )

    log = await entries(runtime)
    assert [e["outcome"] for e in log] == expected
    assert [e["seq"] for e in log] == list(range(1, len(expected) + 1))
    masked = log[2]
    assert (
        masked["principal"] == "sup-1"
        and masked["role"] == "supervisor"
        and masked["scope"] == "22"
    )
    assert masked["fields"]["Member.name"] == "read_masked"
    assert masked["fields"]["Household.status"] == "read"
    assert masked["archive_nos"] == [archive]
    assert masked["operation_type"] == "query" and masked["operation_name"] == "Read"
    assert masked["document_hash"].startswith("shape:")
    assert masked["trace_id"] and len(masked["trace_id"]) == 32
    denied = log[3]
    assert denied["fields"] == {"Household.bankAccount": "denied", "Query.household": "read"}
    assert denied["archive_nos"] == [archive]  # refused, but still about this household
    assert denied["error_codes"] == ["FORBIDDEN"]
    assert log[7]["principal"] is None and log[7]["http_status"] == 401
    async with runtime.sessions() as session:
        result = await verify(session, runtime.cipher.keys)
    assert result.ok and result.entries == len(expected)


async def test_personal_values_never_reach_the_audit_log(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    number, phone, name = id_number(), "13700001111", "诸葛亮明"
    body = await api.gql(
        worker,
        SUBMIT,
        {
            "input": application(
                bankAccount="6217009988776655",
                members=[member("HEAD", name=name, number=number, phone=phone)],
            )
        },
    )
    archive = body["data"]["submitApplication"]["archiveNo"]
    await api.gql(
        worker,
        "query V($id: String!) { verifyRecipient(idNumber: $id) { isRecipient } }",
        {"id": number},
    )
    await api.gql(worker, READ, {"a": archive})
    raw = b""
    async with runtime.engine.connect() as conn:
        for table in ("audit_entries", "audit_archives", "audit_head"):
            raw += str((await conn.execute(text(f"SELECT * FROM {table}"))).all()).encode()  # noqa: S608
    for secret in (number, phone, name, "6217009988776655"):
        assert secret.encode() not in raw
        assert secret.encode("unicode_escape") not in raw
    log = await entries(runtime)
    assert log[0]["variables"]["input"]["members"][0]["idNumber"] == "[redacted]"
    assert log[0]["variables"]["input"]["villageCode"] == "220183100001"  # not personal: kept
    assert log[1]["archive_nos"] == [archive]  # a partner-style lookup names whom it was about


async def test_an_entry_names_the_households_its_arguments_name(api: Api, runtime: Runtime) -> None:
    # a request is about the archive numbers its arguments name, refused or found
    # nowhere as well; a malformed one names no household, and the audit log's filter
    # by archive number searches entries: it reads no household
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    partner = await issue_token(runtime, "partner", "22", fields=["Query.household"])
    auditor = await issue_token(runtime, "auditor", "*")
    archive = f"{CASEWORKER_TOWNSHIP}001-2026-000042"  # well-formed, nobody's
    for caller, query, variables, named in (
        (partner, f'{{ household(archiveNo: "{archive}") {{ bankAccount }} }}', None, [archive]),
        (
            worker,
            "query($a: String!) { household(archiveNo: $a) { status } }",
            {"a": archive},
            [archive],
        ),
        (worker, '{ household(archiveNo: "not-an-archive") { status } }', None, []),
        (auditor, f'{{ auditEvents(archiveNo: "{archive}") {{ edges {{ cursor }} }} }}', None, []),
    ):
        await api.post(caller, query, variables)
        assert (await entries(runtime))[-1]["archive_nos"] == named, query


async def test_a_mutation_and_its_entry_commit_together(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    ok = await api.gql(worker, SUBMIT, {"input": application()})
    archive = ok["data"]["submitApplication"]["archiveNo"]
    log = await entries(runtime)
    assert log[-1]["archive_nos"] == [archive]
    assert log[-1]["operation_type"] == "mutation"


async def _break_audit_inserts(runtime: Runtime) -> None:
    async with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries "
                    "FOR EACH ROW EXECUTE FUNCTION audit_down()"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries "
                    "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
                )
            )


async def _repair_audit_inserts(runtime: Runtime) -> None:
    async with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "postgresql":
            await conn.execute(text("DROP TRIGGER IF EXISTS audit_down ON audit_entries"))
            await conn.execute(text("DROP FUNCTION IF EXISTS audit_down()"))
        else:
            await conn.execute(text("DROP TRIGGER IF EXISTS audit_down"))


async def test_no_data_leaves_when_the_entry_cannot_be_written(
    api: Api, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await api.gql(worker, SUBMIT, {"input": application()})
    archive = created["data"]["submitApplication"]["archiveNo"]
    await _break_audit_inserts(runtime)
    try:
        with caplog.at_level(logging.ERROR, logger="dibao.gateway"):
            await _answers_without_data(api, runtime, worker, archive)
    finally:
        await _repair_audit_inserts(runtime)
    told = [r.getMessage() for r in caplog.records if r.name == "dibao.gateway"]
    assert sum("audit write failed; answering without data" in m for m in told) == 2, told
    # and once the audit store is back, service resumes
    assert (await api.gql(worker, READ, {"a": archive}))["data"]["household"][
        "archiveNo"
    ] == archive


async def _answers_without_data(api: Api, runtime: Runtime, worker: str, archive: str) -> None:
    read = await api.post(worker, READ, {"a": archive})
    assert read.status_code == 503
    assert read.json() == {
        "data": None,
        "errors": [
            {"message": read.json()["errors"][0]["message"], "extensions": {"code": "INTERNAL"}}
        ],
    }
    assert archive not in read.text
    assert "audit store unavailable" not in read.text

    write = await api.post(worker, SUBMIT, {"input": application()})
    assert write.status_code == 503
    assert "archiveNo" not in write.text
    async with runtime.sessions() as session:
        households = await session.scalar(select(func.count()).select_from(Household))
    assert households == 1  # the second application was rolled back with its entry


async def test_redaction_follows_what_a_variable_feeds_not_its_name(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    number = id_number()
    sneaky = (
        "mutation($n: String!, $archiveNo: String!) { submitApplication(input: {"
        'villageCode: "220183100001", members: [{name: $n, idNumber: $archiveNo, '
        'relation: HEAD, monthlyIncome: "100"}]}) { archiveNo } }'
    )
    await api.gql(worker, sneaky, {"n": "张三丰", "archiveNo": number})
    inline = f'{{ verifyRecipient(idNumber: "{number}") {{ isRecipient }} }}'
    await api.gql(worker, inline)
    deep: object = "x"
    for _ in range(600):
        deep = [deep]
    response = await api.post(
        worker, "query($v: Int) { households(first: $v) { totalCount } }", {"v": deep}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    nul = await api.post(
        worker, "query($a: String!) { household(archiveNo: $a) { status } }", {"a": "x\x00y"}
    )
    assert nul.status_code == 400
    log = await entries(runtime)
    assert len(log) == 4, [(e["outcome"], e["error_codes"], e["http_status"]) for e in log]
    assert log[-4]["variables"] == {"n": "[redacted]", "archiveNo": "[redacted]"}
    # the recorded hash is of the document's shape: the literal ID number is not in it
    import hashlib

    assert log[-3]["document_hash"] != "sha256:" + hashlib.sha256(inline.encode()).hexdigest()
    same_shape = f'{{ verifyRecipient(idNumber: "{id_number()}") {{ isRecipient }} }}'
    await api.gql(worker, same_shape)
    assert (await entries(runtime))[-1]["document_hash"] == log[-3]["document_hash"]
    assert [e["outcome"] for e in log[-2:]] == ["invalid", "invalid"]  # each audited, once
    raw = str(log)
    assert number not in raw
    assert "张三丰" not in raw


async def test_after_a_failed_commit_the_next_entry_follows_the_committed_head(
    api: Api, runtime: Runtime
) -> None:
    """A write whose commit fails rolls back its entry; the head the chain had cached
    for it never existed. Another writer (a second server process) then appends at
    that very sequence number: the next entry must follow that one, not the ghost."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-commit")
    before = len(await entries(runtime))
    with pytest.MonkeyPatch.context() as patch:

        async def refused(*_: Any, **__: Any) -> None:
            raise RuntimeError("injected commit failure")

        patch.setattr(AsyncSession, "commit", refused)
        failed = await api.post(worker, SUBMIT, {"input": application()})
    assert failed.status_code == 503, failed.text
    assert "archiveNo" not in failed.text
    assert len(await entries(runtime)) == before  # rolled back with its changes

    other = AuditRecord(time=utcnow(), client=None, trace_id=None, principal="other-process")
    async with runtime.sessions.begin() as session:
        await AuditChain(runtime.cipher).append(session, other.as_dict())
    created = await api.gql(worker, SUBMIT, {"input": application()})
    assert "errors" not in created, created
    log = await entries(runtime)
    assert [e["principal"] for e in log[before:]] == ["other-process", "cw-commit"]
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok


async def test_an_unreachable_audit_store_is_503_unavailable_without_data(
    api: Api, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection lost while the entry is written: the caller is told to retry (503,
    UNAVAILABLE, retry-after), and what the request read or wrote does not leave."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await api.gql(worker, SUBMIT, {"input": application()})
    archive = created["data"]["submitApplication"]["archiveNo"]
    with pytest.MonkeyPatch.context() as patch:

        async def lost(*_: Any, **__: Any) -> list[int]:
            raise ConnectionResetError("injected fault")

        # the one write every entry goes through: a mutation's, and a read's group commit
        patch.setattr(AuditChain, "append_batch", lost)
        with caplog.at_level(logging.WARNING, logger="dibao.gateway"):
            read = await api.post(worker, READ, {"a": archive})
            write = await api.post(worker, SUBMIT, {"input": application()})
    told = [r.getMessage() for r in caplog.records if r.name == "dibao.gateway"]
    assert told.count("audit write failed: database unavailable (ConnectionResetError)") == 2
    for response in (read, write):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["data"] is None
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert "injected fault" not in response.text
    assert archive not in read.text
    async with runtime.sessions() as session:
        households = await session.scalar(select(func.count()).select_from(Household))
    assert households == 1  # the second application was rolled back
