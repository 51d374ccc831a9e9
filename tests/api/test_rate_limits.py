"""Rate limits per credential: 429 with Retry-After, audited, and nobody else's problem."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.ratelimit import DEFAULT_RATES, Rate, RateLimiter, parse_rate_limits
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.helpers import issue_token

QUERY = "{ households(first: 1) { totalCount } }"


@pytest.fixture
async def strict(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose partners may send 3 requests at once, then 1 per minute."""
    limited = dataclasses.replace(
        settings, rate_limits={"partner": Rate(1 / 60, 3), "default": Rate(1000, 1000)}
    )
    runtime.settings = limited
    app = create_app(limited, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def post(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
    )


async def test_over_the_limit_is_429_audited_and_others_go_on(
    strict: httpx.AsyncClient, runtime: Runtime
) -> None:
    greedy = await issue_token(runtime, "partner", "22", principal="greedy")
    polite = await issue_token(runtime, "partner", "22", principal="polite")
    reviewer = await issue_token(runtime, "county_reviewer", "22", principal="reviewer")

    statuses = [(await post(strict, greedy)).status_code for _ in range(8)]
    assert statuses == [200, 200, 200] + [429] * 5
    refused = await post(strict, greedy)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

    # the greedy caller's empty bucket is its own: another partner and another role go on
    assert [(await post(strict, polite)).status_code for _ in range(3)] == [200] * 3
    assert [(await post(strict, reviewer)).status_code for _ in range(20)] == [200] * 20

    log = [e for e in await entries(runtime) if e["principal"] == "greedy"]
    assert len(log) == 9  # every request, refused or not, has its entry
    assert [e["outcome"] for e in log].count("rate_limited") == 6
    limited = next(e for e in log if e["outcome"] == "rate_limited")
    assert limited["error_codes"] == ["RATE_LIMITED"] and limited["http_status"] == 429


def test_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter({"default": Rate(2, 2)}, clock=lambda: now[0])
    assert limiter.take("c", "caseworker") is None
    assert limiter.take("c", "caseworker") is None
    wait = limiter.take("c", "caseworker")
    assert wait == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("c", "caseworker") is None
    now[0] += 100  # a long pause refills to the burst, not beyond
    assert [limiter.take("c", "caseworker") for _ in range(3)][-1] is not None


def test_configuration_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_rate_limits("") == DEFAULT_RATES
    assert DEFAULT_RATES["partner"].per_second < DEFAULT_RATES["default"].per_second
    monkeypatch.setenv("DIBAO_RATE_LIMITS", "partner=5/10,caseworker=50")
    rates = load_settings().rate_limits
    assert rates["partner"] == Rate(5, 10) and rates["caseworker"] == Rate(50, 50)
    assert rates["default"] == DEFAULT_RATES["default"]
    for bad in ("partner", "partner=x/1", "partner=0/5", "=5/5", "partner=5/0", "partner=nan/1"):
        with pytest.raises(ValueError, match="DIBAO_RATE_LIMITS"):
            parse_rate_limits(bad)
