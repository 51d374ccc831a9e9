"""Rate limits per credential: 429 with Retry-After, audited, and nobody else's problem."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.quota import DEFAULT_QUOTAS, LookupQuotas, Quota, parse_lookup_quotas
from gateway.ratelimit import DEFAULT_RATES, Rate, RateLimiter, parse_rate_limits
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import id_number, issue_token

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


VERIFY_ONE = 'v{n}: verifyRecipient(idNumber: "{id}") {{ isRecipient }}'


def lookups(*numbers: str) -> str:
    return "{ " + " ".join(VERIFY_ONE.format(n=n, id=i) for n, i in enumerate(numbers)) + " }"


async def post_query(client: httpx.AsyncClient, token: str, query: str) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )


@pytest.mark.both_paths
async def test_every_aliased_call_is_charged(strict: httpx.AsyncClient, runtime: Runtime) -> None:
    """Aliases put many lookups in one request: each is a call against the bucket."""
    token = await issue_token(runtime, "partner", "22", principal="enumerator")
    two = lookups(id_number(), id_number())
    assert (await post_query(strict, token, two)).status_code == 200  # 2 of 3 tokens
    refused = await post_query(strict, token, two)  # 1 at the door, 1 more: not there
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 120
    body = refused.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # a fragment spread is a call too, wherever its fields are written
    other = await issue_token(runtime, "partner", "22", principal="fragments")
    spread = (
        "query { ...F } fragment F on Query { "
        + " ".join(VERIFY_ONE.format(n=n, id=id_number()) for n in range(4))
        + " }"
    )
    assert (await post_query(strict, other, spread)).status_code == 429
    log = [e for e in await entries(runtime) if e["principal"] in {"enumerator", "fragments"}]
    assert [e["outcome"] for e in log] == ["allowed", "rate_limited", "rate_limited"]
    assert log[1]["http_status"] == 429 and log[1]["error_codes"] == ["RATE_LIMITED"]
    assert log[1]["fields"]["Query.verifyRecipient"] == "read"  # the walk that refused it


@pytest.fixture
def clock() -> list[dt.datetime]:
    return [dt.datetime(2026, 12, 2, 3, 0, 10, tzinfo=dt.UTC)]


@pytest.mark.both_paths
async def test_lookup_quota_per_minute_and_per_day(
    api: Api, runtime: Runtime, clock: list[dt.datetime]
) -> None:
    runtime._quotas = LookupQuotas(
        {"partner": Quota(3, 5), "default": Quota(60, 5000)}, clock=lambda: clock[0]
    )
    token = await issue_token(runtime, "partner", "22", principal="looker")
    reviewer = await issue_token(runtime, "county_reviewer", "22", principal="reviewer")

    assert (await api.post(token, lookups(id_number(), id_number()))).status_code == 200
    assert (await api.post(token, lookups(id_number()))).status_code == 200
    over = await api.post(token, lookups(id_number()))  # the minute's 3 are used
    assert over.status_code == 429
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert over.json()["data"] is None
    assert over.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # another credential's quota is its own
    assert (await api.post(reviewer, lookups(id_number()))).status_code == 200

    clock[0] += dt.timedelta(minutes=1)
    # a batch that does not fit whole is refused whole: nothing of it is answered
    assert (await api.post(token, lookups(*(id_number() for _ in range(3))))).status_code == 429
    assert (await api.post(token, lookups(id_number(), id_number()))).status_code == 200
    clock[0] += dt.timedelta(minutes=1)
    day_over = await api.post(token, lookups(id_number()))  # 5 a day
    assert day_over.status_code == 429
    assert int(day_over.headers["retry-after"]) > 3600  # until Beijing midnight
    clock[0] += dt.timedelta(days=1)
    assert (await api.post(token, lookups(id_number()))).status_code == 200

    log = [e for e in await entries(runtime) if e["principal"] == "looker"]
    assert [e["outcome"] for e in log].count("rate_limited") == 3


def test_lookup_quotas_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_lookup_quotas("") == DEFAULT_QUOTAS
    assert DEFAULT_QUOTAS["partner"].per_minute <= DEFAULT_QUOTAS["default"].per_minute
    monkeypatch.setenv("DIBAO_LOOKUP_QUOTAS", "partner=10/100")
    quotas = load_settings().lookup_quotas
    assert quotas["partner"] == Quota(10, 100) and quotas["default"] == DEFAULT_QUOTAS["default"]
    for bad in ("partner", "partner=10", "partner=x/5", "partner=0/5", "partner=10/5", "=1/1"):
        with pytest.raises(ValueError, match="DIBAO_LOOKUP_QUOTAS"):
            parse_lookup_quotas(bad)
