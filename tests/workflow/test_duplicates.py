"""Existing double claims, found by blind index in SQL, shown only within the caller's region."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy import event, update

from domain.application import ApplicationDraft, MemberDraft, validate_application
from domain.bounds import DUPLICATE_ARCHIVES
from domain.enums import Relation
from domain.idnumber import make_id_number
from gateway.runtime import Runtime
from store.applications import submit_application
from store.models import Member
from store.types import utcnow
from tests.conftest import Api
from tests.helpers import (
    OTHER_COUNTY_VILLAGE,
    RURAL_VILLAGE,
    URBAN_VILLAGE,
    issue_token,
    load_regions,
    nodes,
)

QUERY = """query($r: String) {
  duplicateCandidates(region: $r) { edges { node { archiveNos elsewhere members } } } }"""
OTHER_TOWNSHIP_VILLAGE = "220183101001"

_people = itertools.count()


def person(county: str) -> str:
    n = next(_people)
    return make_id_number(county, dt.date(1940, 1, 1) + dt.timedelta(days=n), n % 1000)


async def household(runtime: Runtime, village: str, status: str, *numbers: str) -> str:
    """A household holding these people, written through the store, then given its status."""
    valid = validate_application(
        ApplicationDraft(
            village_code=village,
            members=[
                MemberDraft(
                    name="张三",
                    id_number=person(village[:6]),  # claimed now, re-pointed below
                    relation=Relation.HEAD if i == 0 else Relation.CHILD,
                    monthly_income=Decimal("0.00"),
                )
                for i in range(len(numbers))
            ],
        ),
        today=dt.date(2026, 1, 1),
    )
    async with runtime.sessions.begin() as session:
        row = await submit_application(
            session,
            runtime.cipher,
            application=valid,
            scope="",
            actor="test",
            actor_role="caseworker",
            now=utcnow(),
            before_claim_check=lambda _: None,  # seeding, not a request: nothing to charge
        )
        row.status = status
        await session.flush()
        # as if imported before the duplicate check: point the members at the shared
        # people's blind index directly (the id_claims rows keep the originals)
        for position, number in enumerate(numbers):
            await session.execute(
                update(Member)
                .where(Member.archive_no == row.archive_no, Member.position == position)
                .values(id_index=runtime.cipher.blind_index(number))
            )
    return row.archive_no


async def candidates(api: Api, token: str, region: str | None = None) -> list[dict[str, Any]]:
    body = await api.gql(token, QUERY, {"r": region})
    assert "errors" not in body, body
    return nodes(body["data"]["duplicateCandidates"])


async def test_shared_person_inside_and_outside_the_region(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    shared = person("220183")
    inside = await household(runtime, URBAN_VILLAGE, "ACTIVE", shared)
    outside = await household(runtime, OTHER_COUNTY_VILLAGE, "SUBMITTED", shared)
    await household(runtime, RURAL_VILLAGE, "REJECTED", shared)  # not claiming
    await household(runtime, RURAL_VILLAGE, "ARCHIVED", shared)  # not claiming
    await household(runtime, RURAL_VILLAGE, "ACTIVE", person("220183"))  # nobody shared

    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    assert await candidates(api, reviewer) == [
        {"archiveNos": [inside], "elsewhere": 1, "members": 2}
    ]
    body = await api.gql(reviewer, QUERY, {"r": None})
    assert outside not in str(body)
    assert shared not in str(body)

    guizhou = await issue_token(runtime, "county_reviewer", "520121")
    assert await candidates(api, guizhou) == [
        {"archiveNos": [outside], "elsewhere": 1, "members": 2}
    ]
    caseworker = await issue_token(runtime, "caseworker", "220183100")
    assert await candidates(api, caseworker) == [
        {"archiveNos": [inside], "elsewhere": 1, "members": 2}
    ]
    national = await issue_token(runtime, "county_reviewer", "*")
    assert await candidates(api, national) == [
        {"archiveNos": sorted([inside, outside]), "elsewhere": 0, "members": 2}
    ]


async def test_a_group_names_its_first_archives_in_view_up_to_the_bound(
    api: Api, runtime: Runtime
) -> None:
    # one person held by more households in view than a group lists: the first ones by
    # archive number are named, and every one is counted
    await load_regions(runtime)
    shared = person("220183")
    inside = sorted(
        [
            await household(runtime, (URBAN_VILLAGE, RURAL_VILLAGE)[i % 2], "ACTIVE", shared)
            for i in range(DUPLICATE_ARCHIVES + 1)
        ]
    )
    await household(runtime, OTHER_COUNTY_VILLAGE, "ACTIVE", shared)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    assert await candidates(api, reviewer) == [
        {
            "archiveNos": inside[:DUPLICATE_ARCHIVES],
            "elsewhere": 1,
            "members": DUPLICATE_ARCHIVES + 2,
        }
    ]


async def test_rejected_or_archived_households_do_not_count(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    shared = person("220183")
    await household(runtime, URBAN_VILLAGE, "ACTIVE", shared)
    await household(runtime, RURAL_VILLAGE, "REJECTED", shared)
    await household(runtime, OTHER_COUNTY_VILLAGE, "ARCHIVED", shared)
    await household(runtime, OTHER_TOWNSHIP_VILLAGE, "TERMINATED", shared)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    assert await candidates(api, reviewer) == []


async def test_groups_only_outside_the_region_stay_unseen(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    elsewhere = person("520121")
    await household(runtime, OTHER_COUNTY_VILLAGE, "ACTIVE", elsewhere)
    await household(runtime, "520121100001", "NOTICE", elsewhere)
    both_here, left = person("220183"), person("220183")
    first = await household(runtime, URBAN_VILLAGE, "ACTIVE", both_here, left)
    second = await household(runtime, OTHER_TOWNSHIP_VILLAGE, "SUSPENDED", both_here)
    third = await household(runtime, RURAL_VILLAGE, "ACTIVE", left)
    async with runtime.sessions.begin() as session:  # `left` moved out of `first`
        await session.execute(
            update(Member)
            .where(Member.archive_no == first, Member.position == 1)
            .values(active=False)
        )

    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    assert await candidates(api, reviewer) == [
        {"archiveNos": sorted([first, second]), "elsewhere": 0, "members": 2}
    ]
    # a narrower region: the other household is then "elsewhere", by count only
    assert await candidates(api, reviewer, "220183100") == [
        {"archiveNos": [first], "elsewhere": 1, "members": 2}
    ]
    assert await candidates(api, reviewer, "220183101") == [
        {"archiveNos": [second], "elsewhere": 1, "members": 2}
    ]
    assert await candidates(api, reviewer, "52") == []  # outside the caller's scope
    assert third not in str(await candidates(api, reviewer))
    guizhou = await issue_token(runtime, "county_reviewer", "52")
    [found] = await candidates(api, guizhou)
    assert (found["elsewhere"], found["members"], len(found["archiveNos"])) == (0, 2, 2)

    bad = await api.gql(reviewer, QUERY, {"r": "2201x"})
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "region"}


async def test_other_roles_are_forbidden(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    for role, scope in (
        ("supervisor", "22"),
        ("partner", "22"),
        ("finance_officer", "220183"),
        ("auditor", "*"),
    ):
        token = await issue_token(runtime, role, scope)
        body = await api.gql(token, QUERY)
        assert body["data"] is None, role
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
        assert "Query.duplicateCandidates" in body["errors"][0]["extensions"]["denied"]


PAGE = """query($first: Int, $after: String) {
  duplicateCandidates(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { archiveNos } } } }"""


async def test_candidates_are_paged_in_sql(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    groups = []
    for _ in range(3):
        shared = person("220183")
        groups.append(
            sorted(
                [
                    await household(runtime, URBAN_VILLAGE, "ACTIVE", shared),
                    await household(runtime, RURAL_VILLAGE, "NOTICE", shared),
                ]
            )
        )
    # two groups whose first archive is the same household: the cursor must tell them apart
    a, b = person("220183"), person("220183")
    both = await household(runtime, URBAN_VILLAGE, "ACTIVE", a, b)
    groups += [
        [both, await household(runtime, RURAL_VILLAGE, "ACTIVE", a)],
        [both, await household(runtime, RURAL_VILLAGE, "ACTIVE", b)],
    ]
    reviewer = await issue_token(runtime, "county_reviewer", "220183")

    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", seen)
    try:
        walked, after, pages = [], None, 0
        while True:
            body = await api.gql(reviewer, PAGE, {"first": 2, "after": after})
            assert "errors" not in body, body
            page = body["data"]["duplicateCandidates"]
            assert page["totalCount"] == len(groups)
            walked += [n["archiveNos"] for n in nodes(page)]
            pages += 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", seen)
    assert pages == 3
    assert sorted(walked) == sorted(groups)
    assert walked == sorted(walked, key=lambda numbers: numbers[0])
    paged = [s for s in statements if "row_number" in s.lower()]
    assert paged and all("LIMIT" in s.upper() for s in paged if "count(" not in s.lower())

    # a page that holds exactly the groups left has no next page
    whole = (await api.gql(reviewer, PAGE, {"first": len(groups)}))["data"]["duplicateCandidates"]
    assert (len(nodes(whole)), whole["pageInfo"]["hasNextPage"]) == (len(groups), False)
    # and a caller whose view holds none counts none
    elsewhere = await issue_token(runtime, "county_reviewer", "520121")
    empty = (await api.gql(elsewhere, PAGE, {"first": 2}))["data"]["duplicateCandidates"]
    assert (empty["totalCount"], nodes(empty), empty["pageInfo"]["hasNextPage"]) == (0, [], False)

    too_many = await api.gql(reviewer, PAGE, {"first": 501})
    assert too_many["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    forged = await api.gql(reviewer, PAGE, {"after": "bm90IGEgY3Vyc29y"})
    assert forged["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    # shaped like a cursor, but of another kind, or placed at something not an archive
    for raw in (f"h:{both}:1", "d:220183:1"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode()
        forged = await api.gql(reviewer, PAGE, {"after": cursor})
        assert forged["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
