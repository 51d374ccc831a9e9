"""`dibao export`: the same files as requestExport, decided and audited alike."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.exports.helpers import sheet
from tests.exports.test_payment_roll import paid_batch
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
