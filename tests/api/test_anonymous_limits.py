"""Requests without a valid credential: each audited, within a limit per address;
over it, refused and counted, then audited as one summary per address."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from audit.chain import verify
from gateway import ratelimit
from gateway.app import create_app
from gateway.config import Settings
from gateway.ratelimit import AddressLimiter, Rate, address_key
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import issue_token

QUERY = {"query": "{ __typename }"}


async def test_other_methods_are_refused_and_audited(api: Api, runtime: Runtime) -> None:
    for method in ("OPTIONS", "PUT", "DELETE", "PATCH"):
        response = await api.client.request(method, "/graphql", json=QUERY)
        assert response.status_code == 405, method
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "POST" in response.headers["allow"]
    log = await entries(runtime)
    assert [(e["outcome"], e["error_codes"], e["http_status"]) for e in log] == [
        ("invalid", ["BAD_USER_INPUT"], 405)
    ] * 4


async def test_cors_preflight_still_answers(settings: Settings, runtime: Runtime) -> None:
    origin = "https://console.example"
    with_cors = dataclasses.replace(settings, cors_origins=(origin,))
    app = create_app(with_cors, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            preflight = await client.options(
                "/graphql",
                headers={
                    "origin": origin,
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "authorization, content-type",
                },
            )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin


async def test_bad_tokens_are_limited_per_address_and_summarised(
    settings: Settings, runtime: Runtime
) -> None:
    good = await issue_token(runtime, "caseworker", "220183100")
    bad = {"authorization": "Bearer dibao_not-a-token"}
    async for client in _strict(settings, runtime):
        statuses = [(await client.post("/graphql", json=QUERY, headers=bad)).status_code
                    for _ in range(13)]  # fmt: skip
        assert statuses == [401] * 3 + [429] * 10
        refused = await client.put("/graphql", json=QUERY)  # any method, same address
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) >= 1
        during = await entries(runtime)
        assert [e["outcome"] for e in during] == ["unauthenticated"] * 3, "no entry per refusal"
        ok = await client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {good}"})
        assert ok.status_code == 200, "a valid credential from the same address goes on"
    log = await entries(runtime)
    summaries = [e for e in log if e.get("refused_count")]
    assert len(summaries) == 1
    assert summaries[0]["refused_count"] == 11
    assert summaries[0]["outcome"] == "rate_limited"
    assert summaries[0]["client"] == "127.0.0.1"
    assert len(log) == 3 + 1 + 1
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok


async def _strict(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Three requests without a credential per address, then (practically) none; leaving
    the lifespan writes the summaries."""
    limited = dataclasses.replace(
        settings,
        rate_limits={"default": Rate(1000, 1000), "anonymous": Rate(1 / 3600, 3)},
    )
    runtime.settings = limited
    runtime._limiter = None
    app = create_app(limited, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def test_addresses_tracked_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_ADDRESSES", 3)
    limiter = AddressLimiter(Rate(1, 1))
    for i in range(10):
        limiter.refuse(f"10.0.0.{i}")
    counts = limiter.drain()
    assert len(counts) == 4
    assert counts["*"] == 7
    assert sum(counts.values()) == 10
    assert limiter.drain() == {}


def test_address_keys() -> None:
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff") == "2001:db8::/64"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key(None) == "*"


async def test_other_methods_with_a_valid_token_name_the_caller(api: Api, runtime: Runtime) -> None:
    token = await issue_token(runtime, "caseworker", "220183100", principal="cw-options")
    headers = {"authorization": f"Bearer {token}"}
    for method in ("OPTIONS", "PUT", "DELETE", "PATCH"):
        response = await api.client.request(method, "/graphql", json=QUERY, headers=headers)
        assert response.status_code == 405, method
    # a token that is not valid: anonymous, as before
    bad = {"authorization": "Bearer dibao_not-a-token"}
    assert (await api.client.request("PUT", "/graphql", json=QUERY, headers=bad)).status_code == 405
    log = await entries(runtime)
    assert [(e["principal"], e["role"], e["http_status"]) for e in log] == [
        ("cw-options", "caseworker", 405)
    ] * 4 + [(None, None, 405)]
    assert all(e["credential_id"] for e in log[:4])
