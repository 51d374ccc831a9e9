"""`GET /metrics`: Prometheus text exposition.

Two parts. The process's OpenTelemetry instruments (gateway/instruments.py):
requests, latencies, audit appends, pools, policy version, anchor age. And the
misuse alerts per rule and status and the audit chain's length (issue 17), read
from the database at each scrape, so every server sharing it reports the same.

Counts only, nothing of a person, and no audit entry (a scrape every few seconds
would bury the log). Still not for everyone: request rates by role and outcome
tell an outsider when the office works and how its refusals go. So with
DIBAO_METRICS_TOKEN set, a scrape needs `Authorization: Bearer <that token>`
(401 otherwise); without it, only a client on this host is answered, and anyone
else gets 404, as if there were no such page. A request that came through a proxy
(it carries a forwarding header) is not "on this host", even when the proxy is.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from audit import alerts
from domain.alerts import AlertRule, AlertStatus
from gateway.runtime import Runtime
from store.models import AuditEntry

log = logging.getLogger("dibao.metrics")
REFUSALS_LOGGED_EVERY_S = 60.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


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


def is_loopback(request: Request) -> bool:
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(request: Request, token: str | None) -> Response | None:
    """None when this scrape may be answered."""
    if token is None:
        if is_loopback(request):
            return None
        return JSONResponse({"error": "not found"}, status_code=404)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return JSONResponse(
        {"error": "a metrics token is required"},
        status_code=401,
        headers={"www-authenticate": 'Bearer realm="dibao-metrics"'},
    )


def metrics_endpoint(
    runtime: Runtime, *, token: str | None
) -> Callable[[Request], Awaitable[Response]]:
    # refused scrapes are summed and logged at most once a minute: a probe for the token
    # shows in the log, and a flood of them cannot grow it without bound
    unlogged = {"count": 0, "since": 0.0}

    async def metrics(request: Request) -> Response:
        if (refused := refusal(request, token)) is not None:
            unlogged["count"] += 1
            now = time.monotonic()
            if now - unlogged["since"] >= REFUSALS_LOGGED_EVERY_S:
                log.warning(
                    "metrics scrapes refused: %d since the last line (last: %s)",
                    unlogged["count"],
                    refused.status_code,
                )
                unlogged["count"], unlogged["since"] = 0, now
            return refused
        async with runtime.sessions() as session:
            by_rule = await alerts.counts(session)
            entries = await session.scalar(select(func.count()).select_from(AuditEntry))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Figures(by_rule, int(entries or 0)))
        body = runtime.meters.exposition() + generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE)

    return metrics
