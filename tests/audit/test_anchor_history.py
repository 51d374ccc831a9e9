"""An emptied log with no anchors fails verification when the database shows earlier use
(README, "Anchors outside the database"): credentials issued more than ten minutes before
(`tests/audit/test_anchors.py`), or any policy change. Through the CLI, on both backends."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.audit.test_anchors import _wipe
from tests.audit.test_tamper import _requests
from tests.cli.test_cli import adibao
from tests.conftest import Api


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, anchor_every=2, anchor_seconds=600)


async def test_an_emptied_log_fails_when_the_policy_was_changed(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await _requests(api, runtime)  # its credential is fresh: not history by itself
    await _wipe(runtime)
    assert settings.anchor_file is not None
    settings.anchor_file.unlink()
    fresh = await adibao(settings, "audit", "verify")
    assert fresh.returncode == 0, (fresh.stdout, fresh.stderr)
    async with runtime.engine.begin() as conn:  # a policy change, as grantPermission makes
        await conn.execute(text("UPDATE policy_state SET version = version + 1"))
    settings.anchor_file.unlink(missing_ok=True)
    result = await adibao(settings, "audit", "verify")
    assert result.returncode == 1, (result.stdout, result.stderr)
    message = " ".join(result.stderr.split())
    assert "audit log is empty" in message and "policy changes" in message, message
