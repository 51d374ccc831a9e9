"""The bad-input catalogue: every case gets a clear coded error naming the field,
an HTTP status that fits, nothing stored, and exactly one audit entry.

Table-driven: add a row, and the same four checks apply to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.idnumber import make_id_number
from gateway.endpoint import MAX_BODY
from gateway.runtime import Runtime
from store.models import AuditEntry, Household, Member
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions, member

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
PAGE = "query($region: String) { households(first: 5, region: $region) { totalCount } }"
AFTER = "query($after: String) { households(first: 5, after: $after) { totalCount } }"
ARCHIVE = "220183100001-2026-000001"  # bounds are checked before anything is looked up
INVESTIGATE = (
    "mutation($a: String!, $i: InvestigationInput!) "
    "{ recordInvestigation(archiveNo: $a, investigation: $i) { archiveNo } }"
)
CHANGE = (
    "mutation($a: String!, $c: ChangeInput!) { reportChange(archiveNo: $a, change: $c) "
    "{ archiveNo } }"
)
REJECT = "mutation($a: String!, $r: String!) { rejectApplication(archiveNo: $a, reasons: [OTHER], text: $r) { archiveNo } }"
SQL = "'; DROP TABLE households; --"
SCRIPT = "<script>alert(1)</script>"


def head(**changes: Any) -> dict[str, Any]:
    return {**member("HEAD"), **changes}


def submit(*members: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"query": SUBMIT, "variables": {"input": application(members=list(members), **fields)}}


def with_id(region: str = "220183", birth: str = "19700517", check: str | None = None) -> str:
    """An ID number from parts; the check character is computed unless given."""
    if check is None:
        good = make_id_number(region, dt.date(1970, 5, 17), 321)
        body = region + birth + good[14:17]
        from stdnum.cn import ric

        return body + ric.calc_check_digit(body + "0")
    return region + birth + "321" + check


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[], tuple[bytes | dict[str, Any], str]]  # (body or JSON, content type)
    status: int
    code: str
    field: str | None = None


def js(body: dict[str, Any]) -> Callable[[], tuple[dict[str, Any], str]]:
    return lambda: (body, "application/json")


def raw(body: bytes, ctype: str = "application/json") -> Callable[[], tuple[bytes, str]]:
    return lambda: (body, ctype)


CASES = [
    # the request itself
    Case("malformed JSON", raw(b'{"query": "{ households'), 400, "BAD_USER_INPUT"),
    Case("wrong content type", raw(b"query=x", "text/plain"), 415, "BAD_USER_INPUT"),
    Case(
        "form content type",
        raw(b"query=x", "application/x-www-form-urlencoded"),
        415,
        "BAD_USER_INPUT",
    ),
    Case(
        "body over the size limit",
        raw(b'{"query": "' + b"a" * MAX_BODY + b'"}'),
        413,
        "BAD_USER_INPUT",
    ),
    Case("batched array body", raw(b'[{"query": "{ __typename }"}]'), 400, "BAD_USER_INPUT"),
    Case(
        "query and documentId both",
        js({"query": "{ __typename }", "documentId": "sha256:00"}),
        400,
        "BAD_USER_INPUT",
    ),
    Case("variables not an object", js({"query": PAGE, "variables": [1]}), 400, "BAD_USER_INPUT"),
    Case("NUL in a value", js(submit(head(name="王\x00建国"))), 400, "BAD_USER_INPUT"),
    # variable types and numbers
    Case(
        "wrong variable type",
        js({"query": SUBMIT, "variables": {"input": "household"}}),
        200,
        "BAD_USER_INPUT",
    ),
    Case("huge integer", js(submit(head(disabilityGrade=2**64))), 200, "BAD_USER_INPUT"),
    Case(
        "integer out of range",
        js(submit(head(disabilityGrade=9))),
        200,
        "BAD_USER_INPUT",
        "members[0].disabilityGrade",
    ),
    Case(
        "negative money",
        js(submit(head(monthlyIncome="-1.00"))),
        200,
        "BAD_USER_INPUT",
        "members[0].monthlyIncome",
    ),
    Case(
        "three-decimal money",
        js(submit(head(monthlyIncome="1.005"))),
        200,
        "BAD_USER_INPUT",
        "members[0].monthlyIncome",
    ),
    Case("money not a number", js(submit(head(monthlyIncome="12元"))), 200, "BAD_USER_INPUT"),
    Case("money as a boolean", js(submit(head(monthlyIncome=True))), 200, "BAD_USER_INPUT"),
    Case(
        "NaN in the body",
        raw(b'{"query": "{ __typename }", "variables": {"x": NaN}}'),
        400,
        "BAD_USER_INPUT",
    ),
    # ID numbers
    Case(
        "future birth date",
        js(submit(head(idNumber=with_id(birth="20900101")))),
        200,
        "BAD_USER_INPUT",
        "members[0].idNumber",
    ),
    Case(
        "impossible birth date",
        js(submit(head(idNumber=with_id(birth="19990230")))),
        200,
        "BAD_USER_INPUT",
        "members[0].idNumber",
    ),
    Case(
        "bad check character",
        js(submit(head(idNumber=with_id(check="0")))),
        200,
        "BAD_USER_INPUT",
        "members[0].idNumber",
    ),
    Case(
        "no such region of issue",
        js(submit(head(idNumber=with_id(region="990101")))),
        200,
        "BAD_USER_INPUT",
        "members[0].idNumber",
    ),
    Case(
        "ID number of 17 digits",
        js(submit(head(idNumber="22018319700517321"))),
        200,
        "BAD_USER_INPUT",
        "members[0].idNumber",
    ),
    # regions
    Case(
        "unknown region scope",
        js({"query": PAGE, "variables": {"region": "2201x"}}),
        200,
        "BAD_USER_INPUT",
        "region",
    ),
    Case(
        "region scope of 3 digits",
        js({"query": PAGE, "variables": {"region": "220"}}),
        200,
        "BAD_USER_INPUT",
        "region",
    ),
    Case(
        "village that does not exist",
        js(submit(head(), villageCode="220183999999")),
        200,
        "BAD_USER_INPUT",
        "villageCode",
    ),
    Case(
        "village code of letters",
        js(submit(head(), villageCode="22018310000a")),
        200,
        "BAD_USER_INPUT",
        "villageCode",
    ),
    # injection strings and odd characters in every text field
    *(
        Case(f"{label} in {where}", js(build(text)), 200, "BAD_USER_INPUT", field)
        for label, text in (("SQL", SQL), ("script", SCRIPT))
        for where, build, field in (
            ("name", lambda t: submit(head(name=t)), "members[0].name"),
            ("address", lambda t: submit(head(), address=t), "address"),
            ("bank name", lambda t: submit(head(), bankName=t), "bankName"),
            ("phone", lambda t: submit(head(phone=t)), "members[0].phone"),
            ("bank account", lambda t: submit(head(), bankAccount=t), "bankAccount"),
            ("village code", lambda t: submit(head(), villageCode=t), "villageCode"),
            ("ID number", lambda t: submit(head(idNumber=t)), "members[0].idNumber"),
        )
    ),
    Case(
        "control character in a name",
        js(submit(head(name="王\x07建国"))),
        200,
        "BAD_USER_INPUT",
        "members[0].name",
    ),
    Case(
        "bidi override in a name",
        js(submit(head(name="王\u202e建国"))),
        200,
        "BAD_USER_INPUT",
        "members[0].name",
    ),
    Case(
        "emoji in a name",
        js(submit(head(name="王建国😀"))),
        200,
        "BAD_USER_INPUT",
        "members[0].name",
    ),
    Case(
        "control character in an address",
        js(submit(head(), address="幸福路\x1b12号")),
        200,
        "BAD_USER_INPUT",
        "address",
    ),
    # empty where a value is required
    Case("empty name", js(submit(head(name=""))), 200, "BAD_USER_INPUT", "members[0].name"),
    Case("blank name", js(submit(head(name="   "))), 200, "BAD_USER_INPUT", "members[0].name"),
    Case(
        "empty ID number",
        js(submit(head(idNumber=""))),
        200,
        "BAD_USER_INPUT",
        "members[0].idNumber",
    ),
    Case(
        "empty village code",
        js(submit(head(), villageCode="")),
        200,
        "BAD_USER_INPUT",
        "villageCode",
    ),
    Case(
        "no members",
        js({"query": SUBMIT, "variables": {"input": application(members=[]) | {"members": []}}}),
        200,
        "BAD_USER_INPUT",
        "members",
    ),
    Case("empty query", js({"query": ""}), 400, "BAD_USER_INPUT"),
    # operation names
    Case(
        "operationName over 100 characters",
        js({"query": "query Q { __typename }", "operationName": "Q" * 101}),
        400,
        "BAD_USER_INPUT",
    ),
    Case(
        "operationName not in the document",
        js({"query": "query Q { __typename }", "operationName": "Other"}),
        200,
        "BAD_USER_INPUT",
        "operationName",
    ),
    Case(
        "two operations and no operationName",
        js({"query": "query A { __typename } query B { __typename }"}),
        200,
        "BAD_USER_INPUT",
        "operationName",
    ),
    # digits of other scripts where only ASCII digits make sense
    Case(
        "full-width digits in a phone",
        js(submit(head(phone="13８１２３４５６７８"))),
        200,
        "BAD_USER_INPUT",
        "members[0].phone",
    ),
    Case(
        "Arabic-Indic digits in a bank account",
        js(submit(head(), bankAccount="٦٢٢٢٠٢١٢٣٤٥٦٧٨٩٠١٢٣")),
        200,
        "BAD_USER_INPUT",
        "bankAccount",
    ),
    # cursors are decoded strictly
    *(
        Case(
            f"cursor {label}",
            js({"query": AFTER, "variables": {"after": cursor}}),
            200,
            "BAD_USER_INPUT",
            "after",
        )
        for label, cursor in (
            ("holding a NUL", base64.urlsafe_b64encode(b"h:\x00").decode()),
            (
                "holding a NUL after an archive number",
                base64.urlsafe_b64encode(f"h:{ARCHIVE}\x00".encode()).decode(),
            ),
            ("holding full-width digits", base64.urlsafe_b64encode("h:２２".encode()).decode()),
            ("of other characters", "不是游标"),
        )
    ),
    # free text and lists are bounded, in variables and in literals alike
    Case(
        "investigation findings too long",
        js(
            {
                "query": INVESTIGATE,
                "variables": {
                    "a": ARCHIVE,
                    "i": {
                        "visitedOn": "2026-01-05",
                        "visitors": ["李四"],
                        "findings": "情况属实" * 1001,
                    },
                },
            }
        ),
        200,
        "BAD_USER_INPUT",
        "findings",
    ),
    Case(
        "too many visitors",
        js(
            {
                "query": INVESTIGATE,
                "variables": {
                    "a": ARCHIVE,
                    "i": {
                        "visitedOn": "2026-01-05",
                        "visitors": ["李四"] * 11,
                        "findings": "情况属实",
                    },
                },
            }
        ),
        200,
        "BAD_USER_INPUT",
        "visitors",
    ),
    Case(
        "visitor name too long",
        js(
            {
                "query": INVESTIGATE,
                "variables": {
                    "a": ARCHIVE,
                    "i": {
                        "visitedOn": "2026-01-05",
                        "visitors": ["李" * 61],
                        "findings": "情况属实",
                    },
                },
            }
        ),
        200,
        "BAD_USER_INPUT",
        "visitors[0]",
    ),
    Case(
        "visit dated in the year 1",
        js(
            {
                "query": INVESTIGATE,
                "variables": {
                    "a": ARCHIVE,
                    "i": {"visitedOn": "0001-01-01", "visitors": ["李四"], "findings": "情况属实"},
                },
            }
        ),
        200,
        "BAD_USER_INPUT",
        "visitedOn",
    ),
    Case(
        "rejection reason too long",
        js({"query": REJECT, "variables": {"a": ARCHIVE, "r": "不符合" * 700}}),
        200,
        "BAD_USER_INPUT",
        "text",
    ),
    Case(
        "objection too long, written into the document",
        js(
            {
                "query": f'mutation {{ recordObjection(archiveNo: "{ARCHIVE}", '
                f'text: "{"有异议" * 700}") {{ archiveNo }} }}'
            }
        ),
        200,
        "BAD_USER_INPUT",
        "text",
    ),
    Case(
        "change reason too long",
        js(
            {
                "query": CHANGE,
                "variables": {
                    "a": ARCHIVE,
                    "c": {"kind": "INCOME", "reason": "收入变化" * 501, "monthlyIncome": "100.00"},
                },
            }
        ),
        200,
        "BAD_USER_INPUT",
        "reason",
    ),
    Case(
        "change address too long",
        js(
            {
                "query": CHANGE,
                "variables": {
                    "a": ARCHIVE,
                    "c": {"kind": "ADDRESS", "reason": "搬家", "address": "幸福路" * 70},
                },
            }
        ),
        200,
        "BAD_USER_INPUT",
        "address",
    ),
    Case(
        "twenty-one members",
        js(submit(*[head(relation="OTHER") for _ in range(21)])),
        200,
        "BAD_USER_INPUT",
        "members",
    ),
    Case(
        "a date in the year 9999 as a default value",
        js({"query": 'query($d: Date! = "9999-12-31") { dueForReview(before: $d) { archiveNo } }'}),
        200,
        "BAD_USER_INPUT",
        "before",
    ),
    Case("blank query", js({"query": "  \n "}), 400, "BAD_USER_INPUT"),
]


async def counts(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.sessions() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Household)) or 0),
            int(await session.scalar(select(func.count()).select_from(Member)) or 0),
            int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0),
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input(api: Api, runtime: Runtime, case: Case) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    households, members, audited = await counts(runtime)
    body, ctype = case.send()
    headers = {"authorization": f"Bearer {token}", "content-type": ctype}
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    response = await api.client.post("/graphql", content=content, headers=headers)

    assert response.status_code == case.status, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == case.code, error
    assert error["message"]
    if case.field is not None:
        assert error["extensions"].get("field") == case.field, error
    data = response.json()["data"]
    assert data is None or all(value is None for value in data.values()), data
    for leak in ("Traceback", "SELECT", "sqlalchemy", "asyncpg"):
        assert leak not in response.text
    after = await counts(runtime)
    assert after[:2] == (households, members), "nothing may be stored"
    assert after[2] == audited + 1, "exactly one audit entry"
    entry = (await entries(runtime))[-1]
    assert entry["http_status"] == case.status
    assert case.code in entry["error_codes"]
    assert entry["outcome"] in {"invalid", "refused"}


async def test_rare_characters_in_names_are_kept_exactly(api: Api, runtime: Runtime) -> None:
    """Four-byte ideographs (生僻字, Extension B) are real names: stored and read back intact."""
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    name = "王\U00020bb7\U0002a6a5"  # 𠮷𪚥: outside the Basic Multilingual Plane
    created = await api.gql(token, SUBMIT, {"input": application(members=[head(name=name)])})
    archive = created["data"]["submitApplication"]["archiveNo"]
    read = await api.gql(
        token,
        "query($a: String!) { household(archiveNo: $a) { members { name } } }",
        {"a": archive},
    )
    assert read["data"]["household"]["members"][0]["name"] == name
