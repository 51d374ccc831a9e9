"""The misuse scan's position is one locked row (README, "Misuse alerts"): scans running at
once, as on servers sharing a database, count each entry once and raise each alert once.
Through GraphQL on both backends."""

from __future__ import annotations

import asyncio

from gateway.runtime import Runtime
from tests.audit.test_misuse_alerts import ACK, BANK, alerts, at, officers, threshold
from tests.conftest import Api
from tests.helpers import issue_token, load_regions


async def test_scans_at_once_raise_each_alert_once(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "REFUSALS", "*", 2)
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fo-twice")
    for _ in range(3):
        await api.gql(finance, BANK)  # refused: finance reads no address
    raised = await asyncio.gather(*(runtime.scan_alerts() for _ in range(4)))
    assert sum(raised) == 1, raised
    [alert] = await alerts(api, auditor)
    assert (alert["rule"], alert["principal"], alert["count"]) == ("REFUSALS", "fo-twice", 3)
    # scanned again with nothing new: nothing moves
    assert await runtime.scan_alerts() == 0
    assert [a["count"] for a in await alerts(api, auditor)] == [3]


async def test_a_later_scan_of_the_hour_raises_the_count_while_it_is_open(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "REFUSALS", "*", 2)
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fo-later")
    for _ in range(2):
        await api.gql(finance, BANK)
    await runtime.scan_alerts()
    [alert] = await alerts(api, auditor)
    assert alert["count"] == 2
    await api.gql(finance, BANK)  # the same hour, after the scan
    await runtime.scan_alerts()
    [alert] = await alerts(api, auditor)
    assert alert["count"] == 3 and len(alert["evidence"]) == 3
    assert (await api.gql(auditor, ACK, {"id": alert["id"], "n": "已核实"}))["data"]
    await api.gql(finance, BANK)  # acknowledged: no longer open, its count stays
    await runtime.scan_alerts()
    [closed] = await alerts(api, auditor, None)
    assert (closed["status"], closed["count"]) == ("ACKNOWLEDGED", 3)
