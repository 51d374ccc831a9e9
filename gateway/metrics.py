"""`GET /metrics`: Prometheus text exposition of the misuse alerts (issue 17).

Counts only, per rule and status, and the audit chain's length: nothing of a person,
so, like /healthz and /readyz, it answers without a credential and leaves no audit
entry (a scrape every few seconds would bury the log). The figures are read from the
database at each scrape, so every server sharing it reports the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from audit import alerts
from domain.alerts import AlertRule, AlertStatus
from gateway.runtime import Runtime
from store.models import AuditEntry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Figures(Collector):
    def __init__(self, by_rule: list[tuple[str, str, int]], entries: int) -> None:
        self.by_rule, self.entries = by_rule, entries

    def collect(self) -> Iterator[Metric]:
        found = {(rule, status): n for rule, status, n in self.by_rule}
        gauge = GaugeMetricFamily(
            "dibao_alerts", "Misuse alerts by rule and status.", labels=["rule", "status"]
        )
        for rule in AlertRule:
            for status in AlertStatus:
                gauge.add_metric([rule.value, status.value], found.get((rule, status), 0))
        yield gauge
        yield GaugeMetricFamily(
            "dibao_audit_entries", "Entries kept in the audit chain.", value=self.entries
        )


def metrics_endpoint(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(_: Request) -> Response:
        async with runtime.sessions() as session:
            by_rule = await alerts.counts(session)
            entries = await session.scalar(select(func.count()).select_from(AuditEntry))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Figures(by_rule, int(entries or 0)))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    return metrics
