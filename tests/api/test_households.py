"""Households through the public GraphQL API, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.categories import elderly_born_on_or_before, minor_born_after
from gateway.runtime import Runtime
from resolvers.context import CHINA_TIME
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    OTHER_COUNTY_VILLAGE,
    RURAL_VILLAGE,
    URBAN_VILLAGE,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
    nodes,
)

# the authorization and masking answers must not depend on the execution path
pytestmark = pytest.mark.both_paths

SUBMIT = """
mutation Submit($input: ApplicationInput!) {
  submitApplication(input: $input) {
    archiveNo regionCode area status
    members { name idNumber sex birthDate relation monthlyIncome phone categories }
  }
}
"""

HOUSEHOLD = """
query One($archiveNo: String!) {
  household(archiveNo: $archiveNo) {
    archiveNo status bankAccount
    members { name idNumber phone }
    reviews { step toStatus actor actorRole }
  }
}
"""

VERIFY = """
query Verify($id: String!) {
  verifyRecipient(idNumber: $id) { isRecipient status countyCode name idNumber }
}
"""


async def submit(api: Api, token: str, app: dict[str, Any]) -> dict[str, Any]:
    return await api.gql(token, SUBMIT, {"input": app})


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_submit_application_creates_archive(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    body = await submit(api, token, application())
    assert "errors" not in body, body
    created = body["data"]["submitApplication"]
    assert created["archiveNo"].startswith("220183100001-")
    assert created["archiveNo"].endswith("-000001")
    assert created["status"] == "SUBMITTED"
    assert created["area"] == "URBAN"
    head, spouse, child = created["members"]
    assert head["name"] == "王建国"
    assert head["sex"] in {"MALE", "FEMALE"}
    assert head["birthDate"] == "1970-05-17"
    assert child["categories"] == ["MINOR"]
    assert spouse["monthlyIncome"] == "0.00"

    again = await api.gql(token, HOUSEHOLD, {"archiveNo": created["archiveNo"]})
    one = again["data"]["household"]
    assert one["bankAccount"] == "***************0123"  # caseworkers see it masked
    finance = await issue_token(runtime, "finance_officer", "220183")
    paying = await api.gql(
        finance,
        "query($a: String!) { household(archiveNo: $a) { bankAccount } }",
        {"a": created["archiveNo"]},
    )
    assert paying["data"]["household"]["bankAccount"] == "6222021234567890123"
    assert [r["step"] for r in one["reviews"]] == ["SUBMIT"]
    assert one["reviews"][0]["actor"] == "test-caseworker"


async def test_archive_numbers_increase_and_are_never_shared(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    numbers = []
    for _ in range(3):
        body = await submit(api, token, application(members=[member("HEAD")]))
        numbers.append(body["data"]["submitApplication"]["archiveNo"])
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]
    assert len(set(numbers)) == 3


async def test_invalid_check_character_is_bad_user_input(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    valid = id_number()
    broken = valid[:17] + ("0" if valid[17] != "0" else "1")
    body = await submit(api, token, application(members=[member("HEAD", number=broken)]))
    assert codes(body) == ["BAD_USER_INPUT"]
    error = body["errors"][0]
    assert error["extensions"]["field"] == "members[0].idNumber"
    assert broken not in error["message"]
    assert body["data"] is None


async def test_rejected_input_writes_nothing(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    bad = application(members=[member("HEAD"), member("SPOUSE", phone="12345")])
    assert codes(await submit(api, token, bad)) == ["BAD_USER_INPUT"]
    two_heads = application(members=[member("HEAD"), member("HEAD")])
    assert codes(await submit(api, token, two_heads)) == ["BAD_USER_INPUT"]
    page = await api.gql(token, "{ households { totalCount } }")
    assert page["data"]["households"]["totalCount"] == 0
    # the number was not consumed by the failures either
    ok = await submit(api, token, application(members=[member("HEAD")]))
    assert ok["data"]["submitApplication"]["archiveNo"].endswith("-000001")


async def test_duplicate_id_in_another_pending_household_is_conflict(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    shared = id_number()
    first = await submit(api, token, application(members=[member("HEAD", number=shared)]))
    archive = first["data"]["submitApplication"]["archiveNo"]
    second = await submit(
        api,
        token,
        application(
            village=RURAL_VILLAGE,
            members=[member("HEAD", number=id_number()), member("SPOUSE", number=shared)],
        ),
    )
    assert codes(second) == ["CONFLICT"]
    assert archive in second["errors"][0]["message"]  # visible to this caller, so named

    # a caller elsewhere learns only that the person is held elsewhere
    far = await issue_token(runtime, "caseworker", "520121100")
    third = await submit(
        api, far, application(village=OTHER_COUNTY_VILLAGE, members=[member("HEAD", number=shared)])
    )
    assert codes(third) == ["CONFLICT"]
    assert archive not in third["errors"][0]["message"]
    assert "elsewhere" in third["errors"][0]["message"]


async def test_out_of_scope_household_is_not_found(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    here = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await submit(api, here, application())
    archive = created["data"]["submitApplication"]["archiveNo"]
    elsewhere = await issue_token(runtime, "caseworker", "520121100")
    body = await api.gql(elsewhere, HOUSEHOLD, {"archiveNo": archive})
    assert body == {"data": {"household": None}}
    listing = await api.gql(elsewhere, "{ households { totalCount edges { node { archiveNo } } } }")
    assert listing["data"]["households"] == {"totalCount": 0, "edges": []}
    county = await issue_token(runtime, "county_reviewer", "220183")
    assert (await api.gql(county, HOUSEHOLD, {"archiveNo": archive}))["data"]["household"][
        "archiveNo"
    ] == archive


async def test_submission_outside_scope_is_refused(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    body = await submit(api, token, application(village=OTHER_COUNTY_VILLAGE))
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "villageCode"


async def test_verify_recipient_gives_masked_details_only(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    number = id_number()
    await submit(api, worker, application(members=[member("HEAD", name="欧阳修文", number=number)]))
    partner = await issue_token(runtime, "partner", "22")
    body = await api.gql(partner, VERIFY, {"id": number})
    check = body["data"]["verifyRecipient"]
    assert (
        check
        == {
            "isRecipient": False,  # submitted, not yet ACTIVE
            "status": "SUBMITTED",
            "countyCode": "220183",
            "name": "欧阳**",
            "idNumber": number[:6] + "********" + number[-4:],
        }
    )
    # the same answer, masked by policy, for every role that may ask
    own = await api.gql(worker, VERIFY, {"id": number})
    assert own["data"]["verifyRecipient"]["name"] == "欧阳**"
    unknown = await api.gql(partner, VERIFY, {"id": id_number()})
    assert unknown["data"]["verifyRecipient"]["isRecipient"] is False
    assert unknown["data"]["verifyRecipient"]["status"] is None
    outside = await issue_token(runtime, "partner", "52")
    hidden = await api.gql(outside, VERIFY, {"id": number})
    assert hidden["data"]["verifyRecipient"]["status"] is None
    bad = await api.gql(partner, VERIFY, {"id": "123"})
    assert codes(bad) == ["BAD_USER_INPUT"]


PAGE_INFO = """
query Page($first: Int!, $status: [HouseholdStatus!]) {
  households(first: $first, status: $status) {
    pageInfo { hasNextPage } edges { node { archiveNo } }
  }
}
"""
# without the status argument the compiled path reads the page itself
PAGE_INFO_UNFILTERED = """
query Page($first: Int!) { households(first: $first) { pageInfo { hasNextPage } edges { node { archiveNo } } } }
"""


@pytest.mark.parametrize("status", [None, ["SUBMITTED"]], ids=["unfiltered", "status"])
async def test_exactly_full_last_page_has_no_next_page(
    api: Api, runtime: Runtime, status: list[str] | None
) -> None:
    """A status filter takes the generic page on either path, none the compiled page on
    the compiled path; all must agree on the end."""
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    for _ in range(2):
        assert "errors" not in await submit(api, token, application(members=[member()]))
    query, filters = (PAGE_INFO, {"status": status}) if status else (PAGE_INFO_UNFILTERED, {})
    full = await api.gql(token, query, {"first": 2, **filters})
    assert full["data"]["households"]["pageInfo"] == {"hasNextPage": False}
    assert len(full["data"]["households"]["edges"]) == 2
    short = await api.gql(token, query, {"first": 1, **filters})
    assert short["data"]["households"]["pageInfo"] == {"hasNextPage": True}


async def test_each_category_filter_finds_its_special_archives(api: Api, runtime: Runtime) -> None:
    """households(category:) lists the archives with a current member of that kind, and
    only those: one household of each kind, and one of none."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    child = member("CHILD", name="王小明", birth=dt.date(2015, 9, 1), phone=None)
    kinds: dict[str | None, list[dict[str, Any]]] = {
        "DISABLED": [member(disabilityGrade=2)],
        "ELDERLY": [member(birth=dt.date(1940, 2, 3))],
        "MINOR": [member(), child],
        "SERIOUSLY_ILL": [member(seriousIllness=True)],
        None: [member()],
    }
    archives: dict[str | None, str] = {}
    for kind, members in kinds.items():
        body = await api.gql(worker, SUBMIT, {"input": application(members=members)})
        assert "errors" not in body, body
        archives[kind] = body["data"]["submitApplication"]["archiveNo"]
    query = "query($c: Category) { households(category: $c) { edges { node { archiveNo } } } }"
    for kind in ("DISABLED", "ELDERLY", "MINOR", "SERIOUSLY_ILL"):
        found = await api.gql(worker, query, {"c": kind})
        assert "errors" not in found, found
        assert [n["archiveNo"] for n in nodes(found["data"]["households"])] == [archives[kind]]


async def test_the_area_filter_lists_that_area_only(api: Api, runtime: Runtime) -> None:
    """households(area:) lists the archives of that track (城市 or 农村) and no other."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    archives = {}
    for area, village in (("URBAN", URBAN_VILLAGE), ("RURAL", RURAL_VILLAGE)):
        body = await submit(api, worker, application(village=village, members=[member("HEAD")]))
        assert body["data"]["submitApplication"]["area"] == area, body
        archives[area] = body["data"]["submitApplication"]["archiveNo"]
    query = "query($a: Area) { households(area: $a) { totalCount edges { node { archiveNo } } } }"
    for area, archive in archives.items():
        found = (await api.gql(worker, query, {"a": area}))["data"]["households"]
        assert [n["archiveNo"] for n in nodes(found)] == [archive], (area, found)
        assert found["totalCount"] == 1, (area, found)


async def test_a_minor_is_one_until_the_eighteenth_birthday(api: Api, runtime: Runtime) -> None:
    """households(category: MINOR) counts a member born a day after the date eighteen years
    ago today, and not one born on it (of age today), as the member's own categories say."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    of_age_on = minor_born_after(runtime.clock().astimezone(CHINA_TIME).date())
    archives = {}
    for born in (of_age_on, of_age_on + dt.timedelta(days=1)):
        members = [member(), member("CHILD", birth=born, phone=None, income="0")]
        body = await submit(api, worker, application(members=members))
        assert "errors" not in body, body
        archives[born] = body["data"]["submitApplication"]["archiveNo"]
    query = "query($c: Category) { households(category: $c) { edges { node { archiveNo } } } }"
    found = await api.gql(worker, query, {"c": "MINOR"})
    minors = [n["archiveNo"] for n in nodes(found["data"]["households"])]
    assert minors == [archives[of_age_on + dt.timedelta(days=1)]], found


async def test_an_elder_is_one_from_the_sixtieth_birthday(api: Api, runtime: Runtime) -> None:
    """households(category: ELDERLY) counts a member born on the date of that age today, and
    not one born a day later."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    of_age_on = elderly_born_on_or_before(runtime.clock().astimezone(CHINA_TIME).date())
    archives = {}
    for born in (of_age_on, of_age_on + dt.timedelta(days=1)):
        body = await submit(api, worker, application(members=[member(birth=born)]))
        assert "errors" not in body, body
        archives[born] = body["data"]["submitApplication"]["archiveNo"]
    query = "query($c: Category) { households(category: $c) { edges { node { archiveNo } } } }"
    found = await api.gql(worker, query, {"c": "ELDERLY"})
    assert [n["archiveNo"] for n in nodes(found["data"]["households"])] == [archives[of_age_on]]
