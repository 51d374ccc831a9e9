"""The pieces both read paths share, held to fixed answers, and broken on purpose.

Comparing the compiled path with the generic one (test_compiled_path.py) cannot see
a bug in a piece they share: the page default and maximum (domain/bounds.py) and the
pageInfo builder (schema.connections.page_info). These tests state what those pieces must
give; the last ones break the compiled path's use of each on purpose and check that
the comparison sees it, so a copy that drifts from the shared piece is caught.
"""

from __future__ import annotations

import pytest

from domain.bounds import DEFAULT_PAGE, MAX_PAGE
from gateway import compiled
from gateway.runtime import Runtime
from schema.connections import PageInfo
from store.seed import seed
from tests.api.test_compiled_path import PAGE_SHAPED, Pair
from tests.api.test_compiled_path import pair as pair  # the fixture
from tests.helpers import issue_token

NO_FIRST = "query { households { edges { node { archiveNo } } } }"


async def national(runtime: Runtime) -> str:
    return await issue_token(runtime, "county_reviewer", "*", principal="national")


async def test_page_info_says_where_the_page_is(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=20, seed=7)
    token = await national(runtime)
    first, _, was_compiled = await pair.both(token, PAGE_SHAPED, {"first": 6})
    assert was_compiled
    page = first.json()["data"]["list"]
    cursors = [e["c"] for e in page["edges"]]
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": cursors[0],
        "endCursor": cursors[-1],
        "__typename": "PageInfo",
    }
    after = cursors[-1]
    last, _, _ = await pair.both(token, PAGE_SHAPED, {"first": 500, "after": after})
    info = last.json()["data"]["list"]["pageInfo"]
    assert info["hasPreviousPage"] is True and info["hasNextPage"] is False
    empty, _, _ = await pair.both(token, PAGE_SHAPED, {"first": 0})
    info = empty.json()["data"]["list"]["pageInfo"]
    assert info["startCursor"] is None and info["endCursor"] is None


async def test_page_default_and_maximum(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=DEFAULT_PAGE + 10, seed=8)
    token = await national(runtime)
    response, _, was_compiled = await pair.both(token, NO_FIRST)
    assert was_compiled
    assert len(response.json()["data"]["households"]["edges"]) == DEFAULT_PAGE
    too_many, _, _ = await pair.both(token, PAGE_SHAPED, {"first": MAX_PAGE + 1})
    assert f"between 0 and {MAX_PAGE}" in too_many.json()["errors"][0]["message"]


def _wrong_page_info(cursors: list[str], *, has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is None,  # the mistake
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


async def test_a_broken_page_info_on_one_path_shows(
    pair: Pair, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(runtime.engine, runtime.cipher, households=10, seed=9)
    token = await national(runtime)
    monkeypatch.setattr(compiled, "page_info", _wrong_page_info)
    with pytest.raises(AssertionError):
        await pair.both(token, PAGE_SHAPED, {"first": 3})


async def test_a_broken_page_size_on_one_path_shows(
    pair: Pair, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(runtime.engine, runtime.cipher, households=DEFAULT_PAGE + 10, seed=10)
    token = await national(runtime)
    # a page one longer than asked: the default arrives as `first`, from the schema
    monkeypatch.setattr(compiled, "page_size", lambda first: first + 1)
    with pytest.raises(AssertionError):
        await pair.both(token, NO_FIRST)
