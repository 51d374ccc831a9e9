"""The server runs the misuse rules by itself every `DIBAO_ALERT_SCAN_SECONDS` (README,
"Misuse alerts"; default 60, `0` off): an alert shows without anyone calling the scan.
Through GraphQL, on both backends, with the interval shortened."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from gateway.config import Settings, load_settings
from gateway.runtime import Runtime
from tests.audit.test_misuse_alerts import BANK, alerts, at, officers, threshold
from tests.conftest import Api
from tests.helpers import issue_token, load_regions


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, alert_seconds=0.2)


async def test_the_server_scans_by_itself(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "REFUSALS", "*", 2)
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fo-tick")
    for _ in range(3):
        await api.gql(finance, BANK)
    for _ in range(100):  # 20 s at most; one scan interval is 0.2 s
        found = await alerts(api, auditor)
        if found:
            break
        await asyncio.sleep(0.2)
    assert [(a["rule"], a["principal"]) for a in found] == [("REFUSALS", "fo-tick")]


@pytest.mark.parametrize(("value", "seconds"), [(None, 60.0), ("5", 5.0), ("0", 0.0)])
def test_the_interval_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: float
) -> None:
    if value is None:
        monkeypatch.delenv("DIBAO_ALERT_SCAN_SECONDS", raising=False)
    else:
        monkeypatch.setenv("DIBAO_ALERT_SCAN_SECONDS", value)
    assert load_settings().alert_seconds == seconds
