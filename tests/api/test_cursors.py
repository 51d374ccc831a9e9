"""Keyset cursors answer only inside the caller's scope."""

from __future__ import annotations

import base64
from collections import Counter

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from store.households import encode_cursor
from store.models import Household
from store.seed import seed
from tests.conftest import Api
from tests.helpers import issue_token, nodes

DUE = """query($after: String) {
  dueForReview(before: "2100-01-01", first: 500, after: $after) { edges { node { archiveNo } } } }"""
COUNT = "query($b: Date!) { dueForReview(before: $b) { totalCount } }"
PAGE = """query($after: String) { households(first: 5, after: $after) {
  edges { node { archiveNo } } } }"""


async def test_a_cursor_naming_an_archive_outside_scope_reads_as_a_missing_one(
    api: Api, runtime: Runtime
) -> None:
    await seed(runtime.engine, runtime.cipher, households=120, seed=7)
    async with runtime.sessions() as session:
        active = (
            await session.execute(
                select(Household.archive_no, Household.next_review_on)
                .where(Household.status == "ACTIVE", Household.next_review_on.is_not(None))
                .order_by(Household.next_review_on, Household.archive_no)
            )
        ).all()
    county = active[-1].archive_no[:6]
    # the earliest due archive of another county: all of this county's sort after it
    outside = next(a for a in active if not a.archive_no.startswith(county))
    reviewer = await issue_token(runtime, "county_reviewer", county)
    later = [
        a
        for a in active
        if a.archive_no.startswith(county) and a.next_review_on > outside.next_review_on
    ]
    assert later, "the test needs in-scope archives sorting after the foreign anchor"

    # well formed, in the same county as the foreign one, never issued
    never = outside.archive_no[:-6] + "999999"
    missing = await api.gql(reviewer, DUE, {"after": encode_cursor(never)})
    foreign = await api.gql(reviewer, DUE, {"after": encode_cursor(outside.archive_no)})
    assert "errors" not in foreign, foreign
    assert foreign == missing
    assert nodes(foreign["data"]["dueForReview"]) == []


async def test_due_for_review_pages_walk_every_archive_once_in_order(
    api: Api, runtime: Runtime
) -> None:
    """Paged by (review date, archive number) after the cursor's household: small pages
    walked to the end give exactly the one big page, ties on the date included."""
    await seed(runtime.engine, runtime.cipher, households=60, seed=3)
    async with runtime.sessions() as session:
        active = (
            await session.scalars(select(Household.archive_no).where(Household.status == "ACTIVE"))
        ).all()
    [(province, _)] = Counter(a[:2] for a in active).most_common(1)
    reviewer = await issue_token(runtime, "supervisor", province)
    page = """query($after: String) { dueForReview(before: "2100-01-01", first: 4, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { archiveNo } } } }"""
    whole = await api.gql(reviewer, DUE)
    expected = [n["archiveNo"] for n in nodes(whole["data"]["dueForReview"])]
    assert len(expected) > 8, "the test needs several pages"
    walked: list[str] = []
    after = None
    for _ in range(len(expected)):  # a walk that never ends fails instead of hanging
        body = await api.gql(reviewer, page, {"after": after})
        assert "errors" not in body, body
        found = body["data"]["dueForReview"]
        walked += [n["archiveNo"] for n in nodes(found)]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    else:
        pytest.fail(f"still a next page after {len(expected)} pages")
    assert walked == expected
    # a page that holds exactly the rest is the last one
    exact = await api.gql(reviewer, page.replace("first: 4", f"first: {len(expected)}"))
    assert exact["data"]["dueForReview"]["pageInfo"]["hasNextPage"] is False, exact
    # and the count is of the whole list, an empty one's too
    for before, count in (("2100-01-01", len(expected)), ("1900-01-01", 0)):
        counted = await api.gql(reviewer, COUNT, {"b": before})
        assert counted["data"]["dueForReview"]["totalCount"] == count, (before, counted)


@pytest.mark.both_paths
async def test_a_cursor_that_is_not_one_of_ours_is_the_callers_error(
    api: Api, runtime: Runtime
) -> None:
    """Whatever fails to decode is refused as bad input naming `after`, never an internal
    error, and nothing but the strict URL-safe alphabet is decoded (a lenient decoder
    would drop the stray characters and read the rest as a cursor)."""
    reviewer = await issue_token(runtime, "county_reviewer", "*")
    cursor = encode_cursor("220183100001-2026-000001")  # well formed, names no archive
    assert (await api.gql(reviewer, PAGE, {"after": cursor}))["data"]["households"] == {"edges": []}
    broken = {
        "not base64": "%%%%",
        "not ASCII": "游标游标",
        "decodes to bytes that are not text": base64.urlsafe_b64encode(b"h:\xff\xfe").decode(),
        "a stray character inside": f"{cursor[:8]}*{cursor[8:]}",
        "a line break inside": f"{cursor[:8]}\n{cursor[8:]}",
        "an archive number without the prefix": base64.urlsafe_b64encode(
            b"220183100001-2026-000001"
        ).decode(),
        "the prefix without an archive number": base64.urlsafe_b64encode(b"h:220183").decode(),
    }
    for why, after in broken.items():
        body = await api.gql(reviewer, PAGE, {"after": after})
        assert not (body["data"] or {}).get("households"), (why, body)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (why, body)
        assert error["extensions"]["field"] == "after", (why, body)
