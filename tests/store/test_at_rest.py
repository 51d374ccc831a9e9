"""Personal data is never stored in plain text: read the raw rows and look for it."""

from __future__ import annotations

from sqlalchemy import text

from gateway.runtime import Runtime
from store.models import Base
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"


async def test_raw_rows_hold_no_plaintext_personal_data(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    number, phone, bank, name = id_number(), "13987654321", "6217001234567890", "司马相如"
    body = await api.gql(
        token,
        SUBMIT,
        {
            "input": application(
                bankAccount=bank, members=[member("HEAD", name=name, number=number, phone=phone)]
            )
        },
    )
    assert "errors" not in body
    secrets = [number, number[6:14] + number[14:], phone, bank, name]
    needles = [s.encode() for s in secrets] + [s.encode("utf-16-le") for s in secrets]
    seen_rows = 0
    async with runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(text(f'SELECT * FROM "{table.name}"'))).all():  # noqa: S608
                seen_rows += 1
                for value in row:
                    raw = value if isinstance(value, bytes | memoryview) else str(value).encode()
                    raw = bytes(raw)
                    for needle in needles:
                        assert needle not in raw, f"plaintext personal data in {table.name}"
                    if isinstance(value, bytes | memoryview):
                        assert bytes(value).hex().find(number.encode().hex()) == -1
    assert seen_rows >= 4  # household, member, claim, review at least
