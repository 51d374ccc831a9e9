"""A small archive for authorization tests: one household in Jilin, one in Guizhou."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType

from gateway.runtime import Runtime
from schema.root import build_schema
from store.models import Payment
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    OTHER_COUNTY_VILLAGE,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

ROLES = (
    "caseworker",
    "county_reviewer",
    "finance_officer",
    "supervisor",
    "partner",
    "auditor",
    "secadmin",
    "sysadmin",
)
SCOPES = {
    "caseworker": CASEWORKER_TOWNSHIP,
    "county_reviewer": "220183",
    "finance_officer": "220183",
    "supervisor": "22",
    "partner": "22",
    "auditor": "*",
    "secadmin": "*",
    "sysadmin": "*",
}


# credentials other than a role's plain one: a column of the table each
def _every_field(*type_names: str) -> tuple[str, ...]:
    schema = build_schema()._schema
    found = []
    for name in type_names:
        type_ = schema.type_map[name]
        assert isinstance(type_, GraphQLObjectType)
        found.extend(f"{name}.{field}" for field in type_.fields)
    return tuple(found)


LISTED_FIELDS = (
    "Query.household",
    "Query.households",
    *_every_field("Household", "Member", "Review", "Payment"),
)
CREDENTIALS = {"partner_listed": ("partner", LISTED_FIELDS)}
COLUMNS = (*ROLES, *CREDENTIALS)
SCOPES["partner_listed"] = SCOPES["partner"]
EXPECTED_FILE = Path(__file__).with_name("expected_decisions.csv")
BANK = "6222021234567890123"
SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"


def expected_decisions() -> dict[str, dict[str, str]]:
    """field -> role -> clear|masked|denied, from the readable table."""
    rows = [
        [cell.strip() for cell in line.split(",")]
        for line in EXPECTED_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    header, body = rows[0], rows[1:]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in body}


@dataclass
class Archive:
    inside: str  # archive number inside every regional role's scope
    outside: str  # archive number in another province
    head_id: str
    head_name: str
    head_phone: str
    tokens: dict[str, str]


@pytest.fixture
async def archive(api: Api, runtime: Runtime) -> Archive:
    await load_regions(runtime)
    jilin = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-jilin")
    guizhou = await issue_token(runtime, "caseworker", "520121100", principal="cw-guizhou")
    head_id, head_name, phone = id_number(), "欧阳修文", "13912345678"
    inside: dict[str, Any] = await api.gql(
        jilin,
        SUBMIT,
        {
            "input": application(
                bankAccount=BANK,
                members=[
                    member("HEAD", name=head_name, number=head_id, phone=phone),
                    member(
                        "CHILD", name="欧阳明", birth=dt.date(2015, 2, 3), income="0", phone=None
                    ),
                ],
            )
        },
    )
    outside: dict[str, Any] = await api.gql(
        guizhou,
        SUBMIT,
        {
            "input": application(
                village=OTHER_COUNTY_VILLAGE, members=[member("HEAD", number=id_number("520121"))]
            )
        },
    )
    archive_in = inside["data"]["submitApplication"]["archiveNo"]
    archive_out = outside["data"]["submitApplication"]["archiveNo"]
    async with runtime.sessions.begin() as session:
        for archive_no, county in ((archive_in, "220183"), (archive_out, "520121")):
            payment = Payment(
                archive_no=archive_no,
                county_code=county,
                period="2026-10",
                amount=Decimal("812.50"),
                status="DISBURSED",
                bank_reference="REF-0001",
            )
            payment.id = f"pay{archive_no[-6:]}{county}"
            payment.bank_account_enc = runtime.cipher.encrypt(
                BANK, table="payments", column="bank_account", row_id=payment.id
            )
            session.add(payment)
    tokens = {role: await issue_token(runtime, role, SCOPES[role]) for role in ROLES}
    for column, (role, fields) in CREDENTIALS.items():
        tokens[column] = await issue_token(
            runtime, role, SCOPES[column], fields=list(fields), principal=column
        )
    return Archive(archive_in, archive_out, head_id, head_name, phone, tokens)
