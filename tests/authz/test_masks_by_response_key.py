"""Masks follow response keys: aliased and fragment-spread masked fields come back masked.

Checked value by value against the plaintext the test seeded, in the masks'
SPEC formats written out here (not through policies/masking.py), on both read
paths. Comparing the two paths with each other could not see a bug they share,
such as a mask plan keyed by field name instead of by response key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

pytestmark = pytest.mark.both_paths

SUBMIT = "mutation($i: ApplicationInput!) { submitApplication(input: $i) { archiveNo } }"
HEAD_ID = id_number(birth=dt.date(1961, 4, 2))
SPOUSE_ID = id_number(birth=dt.date(1964, 11, 30))
PEOPLE = [
    member("HEAD", name="欧阳建国", number=HEAD_ID, phone="13912345678"),
    member("SPOUSE", name="李秀英", number=SPOUSE_ID, phone="13698765432"),
]
ACCOUNT = "6222021234567890123"

ALIASED = """
query($a: String!) {
  household(archiveNo: $a) {
    members { n: name name i: idNumber idNumber p: phone phone }
    again: members { who: name }
  }
}"""
SPREAD = """
query($a: String!) {
  first: household(archiveNo: $a) { ...H }
  second: household(archiveNo: $a) { members { ... on Member { x: idNumber } } }
}
fragment H on Household { members { ...M } }
fragment M on Member { id2: idNumber nm: name }
"""
PAGE = """
{ households(first: 5) { edges { node { archiveNo members { a: idNumber b: name c: phone } } } } }
"""
# a member without a phone: the null comes first in the plan, masked values after it
PHONELESS_ID = id_number(birth=dt.date(1990, 6, 15))
PHONELESS = member("CHILD", name="欧阳小明", number=PHONELESS_ID, phone=None)
NULL_FIRST = """
query($a: String!) { household(archiveNo: $a) { members { phone name idNumber } } }
"""
ACCOUNTS = "query($a: String!) { household(archiveNo: $a) { acct: bankAccount bankAccount } }"


def masked_id(value: str) -> str:
    return value[:6] + "********" + value[-4:]


def masked_name(value: str) -> str:
    kept = 2 if value.startswith("欧阳") else 1
    return value[:kept] + "*" * (len(value) - kept)


def masked_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:]


EXPECTED = {
    HEAD_ID: ("欧阳建国", "13912345678"),
    SPOUSE_ID: ("李秀英", "13698765432"),
}


@pytest.fixture
async def archive(api: Api, runtime: Runtime) -> str:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    body = await api.gql(worker, SUBMIT, {"i": application(members=PEOPLE, bankAccount=ACCOUNT)})
    return str(body["data"]["submitApplication"]["archiveNo"])


def _seeded(found: dict[str, Any]) -> tuple[str, str, str]:
    """The seeded (id, name, phone) whose masked ID number this member came back with."""
    (number,) = [n for n in EXPECTED if masked_id(n) == found["i"]]
    return (number, *EXPECTED[number])


async def test_aliases_come_back_masked(api: Api, runtime: Runtime, archive: str) -> None:
    supervisor = await issue_token(runtime, "supervisor", "22")
    body = await api.gql(supervisor, ALIASED, {"a": archive})
    assert "errors" not in body, body
    household = body["data"]["household"]
    members = household["members"]
    assert len(members) == 2
    for found in members:
        number, name, phone = _seeded(found)
        assert found == {
            "n": masked_name(name),
            "name": masked_name(name),
            "i": masked_id(number),
            "idNumber": masked_id(number),
            "p": masked_phone(phone),
            "phone": masked_phone(phone),
        }
    assert sorted(m["who"] for m in household["again"]) == sorted(
        masked_name(n) for n, _ in EXPECTED.values()
    )


async def test_fragment_spreads_come_back_masked(api: Api, runtime: Runtime, archive: str) -> None:
    supervisor = await issue_token(runtime, "supervisor", "22")
    body = await api.gql(supervisor, SPREAD, {"a": archive})
    assert "errors" not in body, body
    spread = body["data"]["first"]["members"]
    assert sorted((m["id2"], m["nm"]) for m in spread) == sorted(
        (masked_id(number), masked_name(name)) for number, (name, _) in EXPECTED.items()
    )
    inline = body["data"]["second"]["members"]
    assert sorted(m["x"] for m in inline) == sorted(masked_id(n) for n in EXPECTED)


async def test_page_aliases_come_back_masked(api: Api, runtime: Runtime, archive: str) -> None:
    supervisor = await issue_token(runtime, "supervisor", "22")
    body = await api.gql(supervisor, PAGE)
    assert "errors" not in body, body
    (edge,) = body["data"]["households"]["edges"]
    assert edge["node"]["archiveNo"] == archive
    assert sorted((m["a"], m["b"], m["c"]) for m in edge["node"]["members"]) == sorted(
        (masked_id(number), masked_name(name), masked_phone(phone))
        for number, (name, phone) in EXPECTED.items()
    )


async def test_aliased_bank_account_masked_for_case_staff_clear_for_finance(
    api: Api, runtime: Runtime, archive: str
) -> None:
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    finance = await issue_token(runtime, "finance_officer", "220183")
    masked = "*" * (len(ACCOUNT) - 4) + ACCOUNT[-4:]
    body = await api.gql(reviewer, ACCOUNTS, {"a": archive})
    assert body["data"]["household"] == {"acct": masked, "bankAccount": masked}
    body = await api.gql(finance, ACCOUNTS, {"a": archive})
    assert body["data"]["household"] == {"acct": ACCOUNT, "bankAccount": ACCOUNT}


async def test_masked_values_after_a_null_come_back_masked(api: Api, runtime: Runtime) -> None:
    """A null masked value is skipped, not taken as the end of the plan."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    people = [*PEOPLE, PHONELESS]
    body = await api.gql(worker, SUBMIT, {"i": application(members=people)})
    archive_no = body["data"]["submitApplication"]["archiveNo"]
    supervisor = await issue_token(runtime, "supervisor", "22")
    body = await api.gql(supervisor, NULL_FIRST, {"a": archive_no})
    assert "errors" not in body, body
    found = [m for m in body["data"]["household"]["members"] if m["phone"] is None]
    assert found == [{"phone": None, "name": "欧阳**", "idNumber": masked_id(PHONELESS_ID)}]


async def test_a_refused_page_with_masked_fields_is_the_callers_error(
    api: Api, runtime: Runtime
) -> None:
    """A page whose masked fields never came back (the page size refused, so no data):
    the masks have nothing to apply to and the caller gets its BAD_USER_INPUT."""
    await load_regions(runtime)
    supervisor = await issue_token(runtime, "supervisor", "22")
    body = await api.gql(
        supervisor, "{ households(first: 100000) { edges { node { members { name } } } } }"
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
