"""`dibao export`: the same files as requestExport, decided and audited alike."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from domain.documents import MAX_BYTES
from gateway.config import Settings
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.exports.helpers import bank_file, sheet
from tests.exports.test_payment_roll import _by_status, _roll, paid_batch
from tests.helpers import issue_token, load_regions
from tests.workflow.test_payments import COUNTY


async def test_an_operator_exports_the_roll_and_is_audited(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await load_regions(runtime)
    finance = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")
    batch_id, _ = await paid_batch(api, runtime, finance)
    out_file = tmp_path / "roll.csv"
    done = await adibao(
        settings, "export", "payment-roll", "--batch", batch_id, "--out", str(out_file),
        "--region", COUNTY, "--actor", "fin-cli",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = out_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest in done.stdout and "合计: 1446.50" in done.stdout
    assert len(sheet(data, "CSV")) == 1 + 4 + 1  # header, four lines, the totals

    refused = await adibao(
        settings, "export", "payment-roll", "--batch", batch_id, "--out",
        str(tmp_path / "no.xlsx"), "--region", COUNTY, "--role", "caseworker", "--actor", "cw",
    )  # fmt: skip
    assert refused.returncode == 2 and "FORBIDDEN" in refused.stderr
    assert not (tmp_path / "no.xlsx").exists()

    log = [e for e in await entries(runtime) if e["operation_type"] == "cli_export"]
    assert [(e["principal"], e["outcome"]) for e in log] == [
        ("fin-cli", "allowed"),
        ("cw", "denied"),
    ]
    assert log[0]["export"]["sha256"] == digest and log[0]["export"]["rows"] == 4
    assert "export" not in log[1]
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr


async def test_every_kind_runs_from_the_command_line(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await load_regions(runtime)
    finance = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")
    await paid_batch(api, runtime, finance)  # households receiving the benefit, and paid
    runs = {
        "public-list": ["--of", COUNTY],
        "statistical-return": ["--of", COUNTY, "--period", "2026-11"],
        "staff-assessment": ["--of", COUNTY, "--period", "2026-11"],
    }
    for kind, options in runs.items():
        out_file = tmp_path / f"{kind}.xlsx"
        done = await adibao(
            settings, "export", kind, *options, "--out", str(out_file), "--region", COUNTY,
            "--role", "county_reviewer", "--actor", "cr-cli",
        )  # fmt: skip
        assert done.returncode == 0, (kind, done.stderr)
        assert hashlib.sha256(out_file.read_bytes()).hexdigest() in done.stdout, kind
    log = [e for e in await entries(runtime) if e["operation_type"] == "cli_export"]
    assert [e["export"]["kind"] for e in log] == [
        "PUBLIC_LIST",
        "STATISTICAL_RETURN",
        "STAFF_ASSESSMENT",
    ]


async def test_an_operator_records_the_banks_file_and_is_audited(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    """`dibao export bank-return`: importBankReturn's rules from the host, each run one
    entry naming the batch and the file's SHA-256, never a line of the file."""
    await load_regions(runtime)
    finance = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")
    batch_id, _ = await paid_batch(api, runtime, finance)
    ids = [line[1] for line in await _roll(api, finance, batch_id)]

    def written(name: str, lines: list[tuple[str, str, str, str]]) -> Path:
        path = tmp_path / name
        path.write_bytes(bank_file(lines))
        return path

    good = written(
        "good.csv",
        [
            (ids[0], "成功", "BR0001", ""),
            (ids[1], "失败", "", "账户已销户"),
            (ids[2], "成功", "BR0002", ""),
            (ids[3], "成功", "BR0003", ""),
        ],
    )
    bad = written("bad.csv", [(ids[0], "成功", "BR0001", ""), ("e" * 32, "成功", "BR9", "")])
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as out:
        out.truncate(MAX_BYTES + 1)  # sparse: over the bound without writing it

    def run(path: Path, *options: str) -> Any:
        return adibao(
            settings, "export", "bank-return", "--batch", batch_id, "--file", str(path),
            "--region", COUNTY, *options,
        )  # fmt: skip

    refused = await run(bad, "--actor", "fin-cli")
    assert refused.returncode == 1 and "第 3 行" in refused.stderr, refused.stderr
    assert "BR9" not in refused.stderr and ids[0] not in refused.stderr
    denied = await run(good, "--role", "caseworker", "--actor", "cw")
    assert denied.returncode == 2 and "FORBIDDEN" in denied.stderr
    elsewhere = await adibao(
        settings, "export", "bank-return", "--batch", batch_id, "--file", str(good),
        "--region", "520121", "--actor", "fin-far",
    )  # fmt: skip
    assert elsewhere.returncode == 2 and "NOT_FOUND" in elsewhere.stderr
    too_big = await run(huge, "--actor", "fin-cli")
    assert too_big.returncode == 2 and "MB" in too_big.stderr
    assert (await run(tmp_path / "absent.csv")).returncode == 2
    before = await _by_status(api, finance)
    assert before["PENDING"][0] == 4  # nothing recorded by any of those

    done = await run(good, "--actor", "fin-cli")
    assert done.returncode == 0, done.stderr
    assert "已记录: 4 行（成功 3，失败 1）" in done.stdout
    after = await _by_status(api, finance)
    assert after["DISBURSED"][0] == 3 and after["FAILED"][0] == 1
    again = await run(good, "--actor", "fin-cli")
    assert again.returncode == 1 and await _by_status(api, finance) == after

    log = [e for e in await entries(runtime) if e["operation_type"] == "cli_bank_return"]
    assert [(e["principal"], e["outcome"], e.get("refused_count")) for e in log] == [
        ("fin-cli", "allowed", 1),
        ("cw", "denied", None),
        ("fin-far", "refused", None),
        ("fin-cli", "allowed", None),
        ("fin-cli", "allowed", 4),
    ]
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert log[3]["variables"] == {
        "batchId": batch_id,
        "file": {"sha256": digest, "size": good.stat().st_size},
    }
    assert log[3]["fields"] == {"Mutation.importBankReturn": "write"}
    text = str(log)
    assert "BR0001" not in text and "账户已销户" not in text and ids[0] not in text
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
