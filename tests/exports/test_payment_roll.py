"""The payment roll (发放名册) of a batch and the bank's result file, through the API and
HTTP, on both backends (issue 20)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import pytest

from domain.exports import ROLL_COLUMNS
from gateway import policy_sync
from gateway.runtime import Runtime
from store.models import BenefitHistory, Export
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.exports.helpers import (
    EXPORTS,
    bank_file,
    code,
    fetch,
    request,
    sheet,
    ticket,
    upload_return,
)
from tests.helpers import OTHER_COUNTY_VILLAGE, RURAL_VILLAGE, issue_token, load_regions
from tests.workflow.test_payments import BANK, BATCHES, COUNTY, generate, household, result

MEMBERS = "query($a: String!) { household(archiveNo: $a) { members { name idNumber } } }"
REVOKE = """mutation($input: PermissionInput!) { revokePermission(input: $input) { changed } }"""


async def paid_batch(api: Api, runtime: Runtime, finance: str) -> tuple[str, list[str]]:
    """A June batch of three households, one of them with a back pay line for May."""
    raised = await household(runtime, benefit="500.00", history=[(dt.date(2026, 1, 1), "500.00")])
    others = [
        await household(runtime, village=RURAL_VILLAGE, benefit="333.33"),
        await household(runtime, benefit="412.07"),
    ]
    await household(runtime, village=OTHER_COUNTY_VILLAGE)  # another county: not in the roll
    result(await generate(api, finance, "2026-05"))
    async with runtime.sessions.begin() as session:  # a standard raised from May
        session.add(
            BenefitHistory(
                archive_no=raised,
                amount=Decimal("600.55"),
                effective_from=dt.date(2026, 5, 1),
                reason="standard raised",
                created_by="test",
            )
        )
    june = result(await generate(api, finance, "2026-06"))
    return june["batchId"], [raised, *others]


@pytest.fixture
async def finance(runtime: Runtime) -> str:
    await load_regions(runtime)
    return await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")


@pytest.mark.parametrize("fmt", ["XLSX", "CSV"])
async def test_the_roll_adds_up_to_the_batch_with_the_payees_in_clear(
    api: Api, runtime: Runtime, finance: str, fmt: str
) -> None:
    batch_id, archives = await paid_batch(api, runtime, finance)
    made = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id, "format": fmt}))
    [summary] = (await api.gql(finance, BATCHES, {"c": COUNTY, "p": "2026-06"}))["data"][
        "paymentBatches"
    ]
    assert summary["count"] == 4  # three REGULAR lines and one BACK_PAY
    assert (made["rowCount"], made["totalAmount"]) == (summary["count"], summary["totalAmount"])
    assert made["totalAmount"] == "1446.50"  # 600.55 + 100.55 + 333.33 + 412.07

    response = await fetch(api, finance, made["id"])
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    data = response.content
    assert hashlib.sha256(data).hexdigest() == made["sha256"]
    rows = sheet(data, fmt)
    header, lines, total = rows[0], rows[1:-1], rows[-1]
    assert header[:6] == ["序号", "付款编号", "档案编号", "户主姓名", "身份证号码", "银行账号"]
    assert len(lines) == summary["count"]
    amounts = [Decimal(line[-1]) for line in lines]
    assert sum(amounts) == Decimal(summary["totalAmount"])
    assert total[0] == "合计" and Decimal(total[-1]) == Decimal(summary["totalAmount"])
    assert sorted(line[-2] for line in lines) == ["正常", "正常", "正常", "补发"]
    assert {line[-3] for line in lines} == {"2026-05", "2026-06"}
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    for archive in archives:
        [member] = (await api.gql(reviewer, MEMBERS, {"a": archive}))["data"]["household"][
            "members"
        ]
        mine = [line for line in lines if line[2] == archive]
        assert mine and all(
            line[3:6] == [member["name"], member["idNumber"], BANK] for line in mine
        )

    # one audit entry for the request and one for the download, each naming the file
    log = await entries(runtime)
    taken = [e for e in log if e.get("export")]
    assert [e["operation_type"] for e in taken] == ["mutation", "export_download"]
    for entry in taken:
        assert entry["export"]["sha256"] == made["sha256"]
        assert entry["export"]["kind"] == "PAYMENT_ROLL"
        assert entry["export"]["params"] == {
            "batchId": batch_id,
            "format": fmt,
            "columns": dict.fromkeys(ROLL_COLUMNS, "read"),  # how the file was written
        }
        assert entry["export"]["rows"] == 4 and entry["export"]["total"] == "1446.50"
    assert taken[0]["fields"]["Mutation.requestExport"] == "write"
    text = str(log)
    assert BANK not in text and BANK[-8:] not in text
    for line in lines:
        assert line[4] not in text  # no ID number in the audit log


async def test_who_may_take_the_roll_is_the_policys_and_others_find_nothing(
    api: Api, runtime: Runtime, finance: str
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    made = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    for role, scope in (("caseworker", "220183100"), ("supervisor", "22"), ("auditor", "*")):
        token = await issue_token(runtime, role, scope)
        refused = await request(api, token, "PAYMENT_ROLL", {"batchId": batch_id})
        assert code(refused) == "FORBIDDEN", (role, refused)
        assert (await fetch(api, token, made["id"])).status_code == 404

    # another finance officer of the same county: that file is not theirs; and an
    # officer of another county does not see the batch: both as for an unknown id
    colleague = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-2")
    elsewhere = await issue_token(runtime, "finance_officer", "520121", principal="fin-3")
    unknown = await fetch(api, finance, "0" * 32)
    assert unknown.status_code == 404
    for token in (colleague, elsewhere):
        theirs = await fetch(api, token, made["id"])
        assert (theirs.status_code, theirs.json()) == (404, unknown.json())
    outside = await request(api, elsewhere, "PAYMENT_ROLL", {"batchId": batch_id})
    missing = await request(api, finance, "PAYMENT_ROLL", {"batchId": "f" * 32})
    assert code(outside) == code(missing) == "NOT_FOUND"
    assert outside["errors"][0]["message"] == missing["errors"][0]["message"]
    assert (await fetch(api, None, made["id"])).status_code == 401
    assert (await fetch(api, finance, "../../etc/passwd")).status_code == 404
    bad = await request(api, finance, "PAYMENT_ROLL", {"region": COUNTY})
    assert code(bad) == "BAD_USER_INPUT"


async def test_the_policy_decides_each_personal_column(
    api: Api, runtime: Runtime, finance: str
) -> None:
    """A secadmin narrowing the finance officer's roll: the bank account column goes."""
    batch_id, _ = await paid_batch(api, runtime, finance)
    secadmin = await issue_token(runtime, "secadmin", "*")
    rule = {
        "subject": "finance_officer",
        "object": "PaymentRoll.bankAccount",
        "action": "read",
        "scope": "*",
        "effect": "allow",
    }
    revoked = await api.gql(secadmin, REVOKE, {"input": rule})
    assert "errors" not in revoked, revoked
    assert revoked["data"]["revokePermission"]["changed"] is True, revoked
    # the watcher may have taken the change up already: either way it is in force now
    await policy_sync.refresh(runtime.policy_engine, runtime.sessions)
    made = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    rows = sheet((await fetch(api, finance, made["id"])).content, "XLSX")
    assert "银行账号" not in rows[0]
    assert not any(BANK in cell for row in rows for cell in row)
    assert made["rowCount"] == 4


async def test_a_column_revoked_since_the_roll_was_written_is_not_served_from_it(
    api: Api, runtime: Runtime, finance: str
) -> None:
    """Attack review (2026-12-04): the download re-decided the kind but not the
    personal columns, so a roll written with ID numbers in clear was still served
    them for its keeping time after the policy took them from the role."""
    batch_id, _ = await paid_batch(api, runtime, finance)
    made = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    # a file of the register without the decisions it was written by (taken before
    # they were kept) is served while the caller reads every column in clear
    async with runtime.sessions.begin() as session:
        row = await session.get(Export, made["id"])
        assert row is not None
        row.params = {k: v for k, v in row.params.items() if k != "columns"}
    assert (await fetch(api, finance, made["id"])).status_code == 200
    secadmin = await issue_token(runtime, "secadmin", "*")
    rule = {
        "subject": "finance_officer",
        "object": "PaymentRoll.idNumber",
        "action": "read",
        "scope": "*",
        "effect": "allow",
    }
    revoked = await api.gql(secadmin, REVOKE, {"input": rule})
    assert revoked["data"]["revokePermission"]["changed"] is True, revoked
    await policy_sync.refresh(runtime.policy_engine, runtime.sessions)

    refused = await fetch(api, finance, made["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    [entry] = [e for e in await entries(runtime) if e.get("operation_type") == "export_download"][
        -1:
    ]
    assert entry["error_codes"] == ["FORBIDDEN"]
    assert entry["fields"]["PaymentRoll.idNumber"] == "denied"

    # a roll written now leaves the column out, and is served
    again = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    response = await fetch(api, finance, again["id"])
    assert response.status_code == 200, response.text
    assert "身份证号码" not in sheet(response.content, "XLSX")[0]


def _lines(rows: list[list[str]]) -> list[list[str]]:
    return rows[1:-1]


async def _roll(api: Api, finance: str, batch_id: str) -> list[list[str]]:
    made = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    return _lines(sheet((await fetch(api, finance, made["id"])).content, "XLSX"))


async def _by_status(api: Api, finance: str) -> dict[str, Any]:
    [summary] = (await api.gql(finance, BATCHES, {"c": COUNTY, "p": "2026-06"}))["data"][
        "paymentBatches"
    ]
    return {s["status"]: (s["count"], s["amount"]) for s in summary["byStatus"]}


async def test_the_banks_file_is_recorded_whole_or_not_at_all(
    api: Api, runtime: Runtime, finance: str
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    lines = await _roll(api, finance, batch_id)
    ids = [line[1] for line in lines]
    before = await _by_status(api, finance)
    assert before["PENDING"][0] == 4

    # an unknown payment, a malformed line, a duplicate: nothing is recorded, each named
    bad = bank_file(
        [
            (ids[0], "成功", "BR0001", ""),
            ("e" * 32, "成功", "BR0002", ""),
            (ids[1], "失败", "", ""),
            (ids[0], "成功", "BR0003", ""),
            (ids[2], "成功", "BR0004", ""),
        ]
    )
    refused = (await upload_return(api, finance, batch_id, bad))["data"]["importBankReturn"]
    assert refused["applied"] is False
    assert [p["line"] for p in refused["problems"]] == [3, 4, 5]
    assert "不在该批次中" in refused["problems"][0]["message"]
    assert await _by_status(api, finance) == before

    good = bank_file(
        [
            (ids[0], "成功", "BR0001", ""),
            (ids[1], "失败", "", "账户已销户"),
            (ids[2], "成功", "BR0002", ""),
            (ids[3], "成功", "BR0003", ""),
        ]
    )
    done = (await upload_return(api, finance, batch_id, good))["data"]["importBankReturn"]
    assert (done["applied"], done["lines"], done["disbursed"], done["failed"]) == (
        True,
        4,
        3,
        1,
    )
    after = await _by_status(api, finance)
    assert after["PENDING"][0] == 0 and after["DISBURSED"][0] == 3 and after["FAILED"][0] == 1
    failed_amount = Decimal(after["FAILED"][1])
    assert Decimal(after["DISBURSED"][1]) + failed_amount == Decimal("1446.50")

    # the same file again: every line is recorded already, and nothing changes
    again = (await upload_return(api, finance, batch_id, good))["data"]["importBankReturn"]
    assert again["applied"] is False and len(again["problems"]) == 4
    assert await _by_status(api, finance) == after

    # another county's officer cannot record this batch's payments
    elsewhere = await issue_token(runtime, "finance_officer", "520121", principal="fin-3")
    body = await upload_return(api, elsewhere, batch_id, good)
    assert code(body) == "NOT_FOUND"
    caseworker = await issue_token(runtime, "caseworker", "220183100")
    assert code(await upload_return(api, caseworker, batch_id, good)) == "FORBIDDEN"
    text = str(await entries(runtime))
    assert "账户已销户" not in text and "BR0001" not in text


async def test_security_officers_see_who_took_which_file(
    api: Api, runtime: Runtime, finance: str
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    made = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    auditor = await issue_token(runtime, "auditor", "*")
    [listed] = (await api.gql(auditor, EXPORTS, {"n": 10}))["data"]["exports"]
    assert listed == {
        "id": made["id"],
        "kind": "PAYMENT_ROLL",
        "format": "XLSX",
        "principal": "fin-dehui",
        "role": "finance_officer",
        "scope": COUNTY,
        "batchId": batch_id,
        "region": None,
        "rowCount": 4,
        "sha256": made["sha256"],
        "createdAt": made["createdAt"],
    }
    assert code(await api.gql(finance, EXPORTS, {"n": 10})) == "FORBIDDEN"
    assert code(await api.gql(auditor, EXPORTS, {"n": 201})) == "BAD_USER_INPUT"
    # the auditor reads the register, never the file
    assert (await fetch(api, auditor, made["id"])).status_code == 404
