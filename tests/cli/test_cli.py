"""The `dibao` command as an operator uses it, against both backends."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

from gateway.config import Settings, sqlite_url
from tests.conftest import Api

DIBAO = str(Path(sys.executable).parent / "dibao")


async def adibao(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI without blocking the event loop that serves the in-process API."""
    return await asyncio.to_thread(dibao, settings, *args)


def dibao(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "DIBAO_AUDIT_ANCHOR_FILE": str(settings.anchor_file or "off"),
        "DIBAO_AUDIT_ANCHOR_SYSLOG": settings.anchor_syslog or "off",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [DIBAO, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_token_issue_list_revoke(api: Api, settings: Settings) -> None:
    issued = await adibao(
        settings, "token", "issue", "--principal", "gongan-xiecha", "--role", "partner",
        "--region", "22", "--ttl", "30d", "--fields", "Query.verifyRecipient,RecipientCheck.isRecipient",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("dibao_") and len(token) >= 6 + 43  # 256 bits, base64url
    assert token not in issued.stderr

    verify = '{ verifyRecipient(idNumber: "11010519491231002X") { isRecipient } }'
    body = await api.gql(token, verify)
    assert body == {"data": {"verifyRecipient": {"isRecipient": False}}}
    # the credential's field list narrows the partner policy: status is not on it
    narrowed = await api.gql(token, verify.replace("isRecipient", "isRecipient status"))
    assert narrowed["errors"][0]["extensions"]["denied"] == ["RecipientCheck.status"]

    listed = await adibao(settings, "token", "list")
    assert listed.returncode == 0, listed.stderr
    assert "gongan-xiecha" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout
    credential_id = issued.stdout.split()[1]
    assert credential_id in listed.stdout

    revoked = await adibao(settings, "token", "revoke", credential_id)
    assert revoked.returncode == 0, revoked.stderr
    assert (await api.post(token, verify)).status_code == 401
    assert "revoked" in (await adibao(settings, "token", "list")).stdout


def test_token_issue_rejects_bad_input(settings: Settings) -> None:
    bad_role = dibao(
        settings, "token", "issue", "--principal", "x", "--role", "root", "--region", "22"
    )
    assert bad_role.returncode != 0
    assert "role" in bad_role.stderr and "Traceback" not in bad_role.stderr
    bad_region = dibao(
        settings, "token", "issue", "--principal", "x", "--role", "caseworker", "--region", "2201x"
    )
    assert bad_region.returncode != 0 and "region" in bad_region.stderr
    bad_ttl = dibao(
        settings, "token", "issue", "--principal", "x", "--role", "caseworker", "--region", "22",
        "--ttl", "forever",
    )  # fmt: skip
    assert bad_ttl.returncode != 0 and "ttl" in bad_ttl.stderr
    unknown = dibao(settings, "token", "revoke", "0000000000000000")
    assert unknown.returncode != 0 and "NOT_FOUND" in unknown.stderr


def test_db_upgrade_creates_schema_and_private_key_file(tmp_path: Path) -> None:
    settings = Settings(
        database_url=sqlite_url(tmp_path / "fresh.db"), key_file=tmp_path / "k.json"
    )
    result = dibao(settings, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh.db").exists()
    issued = dibao(
        settings, "token", "issue", "--principal", "a", "--role", "auditor", "--region", "*"
    )
    assert issued.returncode == 0, issued.stderr
    mode = stat.S_IMODE(settings.key_file.stat().st_mode)
    assert mode == 0o600
    # a key file others can read is refused, not used
    settings.key_file.chmod(0o644)
    refused = dibao(settings, "token", "list")
    assert refused.returncode != 0 and "chmod 600" in refused.stderr
