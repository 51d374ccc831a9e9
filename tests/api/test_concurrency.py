"""Concurrent submissions: archive numbers never collide, an ID number is held once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    RURAL_VILLAGE,
    URBAN_VILLAGE,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
PARALLEL = 16


async def test_parallel_allocation_gives_distinct_consecutive_numbers(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)

    async def submit(village: str) -> dict[str, Any]:
        return await api.gql(
            token, SUBMIT, {"input": application(village=village, members=[member("HEAD")])}
        )

    results = await asyncio.gather(
        *(submit(URBAN_VILLAGE if i % 2 else RURAL_VILLAGE) for i in range(PARALLEL))
    )
    numbers = [r["data"]["submitApplication"]["archiveNo"] for r in results]
    assert len(set(numbers)) == PARALLEL
    for village in (URBAN_VILLAGE, RURAL_VILLAGE):
        sequences = sorted(int(n[-6:]) for n in numbers if n.startswith(village))
        assert sequences == list(range(1, PARALLEL // 2 + 1))


async def test_parallel_claims_of_one_person_let_exactly_one_through(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    shared = id_number()

    async def submit() -> dict[str, Any]:
        others = [member("SPOUSE", name="李秀英", number=id_number())]
        return await api.gql(
            token, SUBMIT, {"input": application(members=[member("HEAD", number=shared), *others])}
        )

    results = await asyncio.gather(*(submit() for _ in range(PARALLEL)))
    won = [r for r in results if "errors" not in r]
    lost = [r for r in results if "errors" in r]
    assert len(won) == 1
    assert {r["errors"][0]["extensions"]["code"] for r in lost} == {"CONFLICT"}
    total = await api.gql(token, "{ households { totalCount } }")
    assert total["data"]["households"]["totalCount"] == 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(20))
async def test_parallel_allocation_twenty_times_in_a_row(
    api: Api, runtime: Runtime, attempt: int
) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    results = await asyncio.gather(
        *(
            api.gql(token, SUBMIT, {"input": application(members=[member("HEAD")])})
            for _ in range(6)
        )
    )
    numbers = sorted(int(r["data"]["submitApplication"]["archiveNo"][-6:]) for r in results)
    assert numbers == [1, 2, 3, 4, 5, 6]
