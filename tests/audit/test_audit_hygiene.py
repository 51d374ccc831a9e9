"""What the audit log and the server log keep of a request: the schema decides which
values are plain; free text, names and ID numbers are never kept, nor logged."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from audit.record import AuditRecord, canonical, cap_variables
from gateway.runtime import Runtime
from store import chain as store_chain
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, id_number, issue_token, load_regions

REJECT = (
    "mutation Reject($a: String!, $r: String!) "
    "{ rejectApplication(archiveNo: $a, reasons: [OTHER], text: $r) { archiveNo } }"
)
ARCHIVE = "220183100001-2026-000001"
STATUS = "query($region: String) { households(first: 1, region: $region) { totalCount } }"


async def raw_audit(runtime: Runtime) -> str:
    rows = ""
    async with runtime.engine.connect() as conn:
        for table in ("audit_entries", "audit_archives"):
            rows += str((await conn.execute(text(f"SELECT * FROM {table}"))).all())  # noqa: S608
    return rows


async def test_free_text_is_redacted_and_plain_values_kept(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    number = id_number()
    reason = f"申请人张三丰（身份证 {number}）隐瞒收入"
    await api.post(reviewer, REJECT, {"a": ARCHIVE, "r": reason})
    # a code holding anything but a code: not kept at all (see the tests below)
    await api.post(reviewer, STATUS, {"region": f"x{number}y"})
    # a literal in the document: only the document's shape is recorded
    await api.post(reviewer, f'mutation {{ recordObjection(archiveNo: "{ARCHIVE}", '
                             f'text: "{reason}") {{ archiveNo }} }}')  # fmt: skip
    # an operation named after a person, and a variable named after an ID number
    await api.client.post(
        "/graphql",
        json={
            "query": f"query Q{number} {{ __typename }}",
            "operationName": f"Q{number}",
            "variables": {f"v{number}": number},
        },
        headers={"authorization": f"Bearer {reviewer}"},
    )
    log = await entries(runtime)
    assert log[0]["variables"] == {"a": ARCHIVE, "r": "[redacted]"}
    assert log[1]["variables"] == {"region": "[redacted]"}
    assert log[2]["variables"] is None
    assert log[3]["operation_name"] == "Q[redacted]"
    assert log[3]["variables"] == {"#undeclared": 1}  # not declared: only counted
    raw = await raw_audit(runtime)
    for secret in (number, "张三丰", "隐瞒收入"):
        assert secret not in raw


@pytest.mark.both_paths
async def test_operation_names_are_bounded_and_must_exist(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    headers = {"authorization": f"Bearer {worker}"}
    read = "query Read($a: String!) { household(archiveNo: $a) { archiveNo } }"
    unknown = await api.client.post(
        "/graphql",
        json={"query": read, "operationName": "Other", "variables": {"a": ARCHIVE}},
        headers=headers,
    )
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    huge = await api.client.post(
        "/graphql",
        json={"query": read, "operationName": "N" * 250_000, "variables": {"a": ARCHIVE}},
        headers=headers,
    )
    assert huge.status_code == 400
    assert huge.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    log = await entries(runtime)
    assert [e["outcome"] for e in log] == ["invalid", "invalid"]
    assert len(log[0]["operation_name"] or "") <= 100
    assert len(str(log[1])) < 4096


async def test_stored_variables_are_capped_with_a_keyed_hash(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    many: dict[str, Any] = {f"region{i}": "220183100001" for i in range(300)}
    # one variable used and many declared: within the alias and field limits, which
    # are refused before any variable is looked at
    query = "query(" + ", ".join(f"${k}: String" for k in many) + ") { "
    query += "households(first: 1, region: $region0) { totalCount } }"
    await api.post(worker, query, many)
    entry = (await entries(runtime))[-1]
    kept = entry["variables"]
    assert len(str(kept).encode()) < 4096 + 200
    assert kept["_omitted"]["count"] > 0
    assert len(kept["_omitted"]["hmac"]) == 64
    assert kept["region0"] == many["region0"]  # what fits is kept as it was


async def test_logs_carry_no_values(
    api: Api, runtime: Runtime, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error quotes the statement's parameters: the server log must not."""
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    number = id_number()

    async def broken(*_: Any, reason: str | None = None, **__: Any) -> Any:
        raise IntegrityError(
            "UPDATE households SET reason = $1", {"reason": reason}, ValueError(f"bad {reason}")
        )

    monkeypatch.setattr(store_chain, "apply_step", broken)  # what a refusal calls
    caplog.set_level(logging.DEBUG)
    response = await api.post(reviewer, REJECT, {"a": ARCHIVE, "r": f"身份证 {number}"})
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert number not in response.text
    assert caplog.records, "the fault is logged"
    formatter = logging.Formatter()
    for record in caplog.records:
        assert number not in formatter.format(record)
    assert number not in caplog.text


# the planted ID number's birth date and tail however written, and the phone number
# ("220183" alone is the county's code, kept where a code is well formed)
PLANTED_DIGITS = ("19820530", "0530 5726", "0530.5726", "13800138000", "２２０１８３", "572６")


async def test_plain_places_keep_only_well_formed_values(api: Api, runtime: Runtime) -> None:
    """The tester's four requests: free text with an ID number written apart (spaces,
    dots, full-width digits) in a cursor, a region code, an archive number and a
    variable's name. None of it is kept: not in the entry, not in its archive index."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="planter")
    after = "query($a: String) { households(first: 1, after: $a) { totalCount } }"
    region = "query($r: String) { households(first: 1, region: $r) { totalCount } }"
    read = "query($n: String!) { household(archiveNo: $n) { archiveNo } }"
    cursor = "张三丰 身份证 220183 19820530 5726 手机13800138000"
    await api.post(worker, after, {"a": cursor})
    await api.post(worker, '{ households(first: 1, after: "' + cursor + '") { totalCount } }')
    await api.post(worker, region, {"r": "王五 22018319820530572６"})
    await api.post(worker, '{ households(region: "王五 22018319820530572６") { totalCount } }')
    await api.post(worker, read, {"n": "赵六-220183.19820530.5726"})
    await api.post(worker, '{ household(archiveNo: "赵六-220183.19820530.5726") { archiveNo } }')
    await api.client.post(
        "/graphql",
        json={
            "query": region,
            "variables": {"r": "220183", "李四 ２２０１８３１９８２０５３０５７２６": 1},
        },
        headers={"authorization": f"Bearer {worker}"},
    )
    # and what is well formed is kept as it was
    await api.post(worker, region, {"r": "220183100"})
    await api.post(worker, read, {"n": ARCHIVE})

    log = [e for e in await entries(runtime) if e["principal"] == "planter"]
    assert [e["variables"] for e in log] == [
        {"a": "[redacted]"},
        None,
        {"r": "[redacted]"},
        None,
        {"n": "[redacted]"},
        None,
        {"r": "220183", "#undeclared": 1},
        {"r": "220183100"},
        {"n": ARCHIVE},
    ]
    assert [e["archive_nos"] for e in log[4:6]] == [[], []]
    assert log[-1]["archive_nos"] == [ARCHIVE]
    raw = await raw_audit(runtime)
    for secret in (*PLANTED_DIGITS, "张三丰", "王五", "赵六", "李四"):
        assert secret not in raw, secret
    assert "220183100" in raw  # the kept code: the check above is not vacuous


async def test_kept_strings_lose_id_numbers_however_written(api: Api, runtime: Runtime) -> None:
    """A plain place without a format (account names) keeps its text, NFKC-normalised,
    with any run of digits as long as an ID number cut out, separators or not."""
    await load_regions(runtime)
    auditor = await issue_token(runtime, "auditor", "*", principal="reader")
    query = "query($p: String) { auditEvents(principal: $p, first: 1) { edges { cursor } } }"
    for written in (
        "王五 22018319820530572６",
        "x220183.19820530.572X",
        "a 220183-19820530-5726 b",
    ):
        await api.post(auditor, query, {"p": written})
    log = [e for e in await entries(runtime) if e["principal"] == "reader"]
    assert [e["variables"]["p"] for e in log] == [
        "王五 [redacted]",
        "x[redacted]",
        "a [redacted] b",
    ]


async def test_kept_strings_are_cut_at_200_characters_and_15_digits_make_an_id(
    api: Api, runtime: Runtime
) -> None:
    """A first-generation ID number has 15 digits: a run of 15 is cut out, a run of 14
    (a phone with its area code, an account) is not an ID number and is kept. A kept
    string keeps its first 200 characters, however long the value sent; a run of
    digits that begins in them is judged with the 64 characters after the cut, so it
    is cut out when its 15th digit is the 64th of them. A run still going at the 64th
    is cut out whatever its length: NFKC may have shrunk what came before it (a letter
    and its combining accent become one character) and pulled its digits into the 200
    kept, and 14 digits of an ID number are its region and birth date."""
    await load_regions(runtime)
    auditor = await issue_token(runtime, "auditor", "*", principal="reader")
    query = "query($p: String) { auditEvents(principal: $p, first: 1) { edges { cursor } } }"
    kept = "q" * 199  # then a digit, the 200th character, spaced from 14 more
    sent = (
        "a 220183820530572 b",
        "a 22018382053057 b",
        "p" * 250,
        kept + "1" + " " * 50 + "2" * 14 + "3" * 20,  # 15th digit: the 264th character
        kept + "1" + " " * 51 + "2" * 14 + "3" * 20,  # the 265th: still going at the cut
        kept + "1" + " " * 51 + "2" * 12 + "y" * 20,  # 13 digits, ended before the cut
        # exactly 264 characters: nothing was cut, so the run ending the value is whole,
        # 14 digits, and kept
        kept + "1" + " " * 51 + "2" * 13,
        # 265: the cut leaves 14 digits still going at it, judged as an ID number
        kept + "1" + " " * 51 + "2" * 14,
        # a run whose last digit is the 264th character: the 64 characters after the
        # cut cannot tell it ended there, so it is judged as one still going
        kept + "1" + " " * 51 + "2" * 13 + "y" * 20,
        "e\u0301" * 125 + "220183198205305726" + "z" * 10,  # 250 characters NFKC makes 125
    )
    for written in sent:
        await api.post(auditor, query, {"p": written})
    log = [e for e in await entries(runtime) if e["principal"] == "reader"]
    assert [e["variables"]["p"] for e in log] == [
        "a [redacted] b",
        "a 22018382053057 b",
        "p" * 200,
        kept + "[",  # "[redacted]", cut at 200
        kept + "[",
        kept + "1",
        kept + "1",
        kept + "[",
        kept + "[",
        "\u00e9" * 125 + "[redacted]",  # not the region code and birth date
    ]


@pytest.mark.parametrize("length", [100, 101])
async def test_an_operation_name_of_100_characters_is_kept_whole_and_101_refused(
    api: Api, runtime: Runtime, length: int
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    name = "N" * length
    response = await api.client.post(
        "/graphql",
        json={"query": f"query {name} {{ __typename }}", "operationName": name},
        headers={"authorization": f"Bearer {worker}"},
    )
    entry = (await entries(runtime))[-1]
    if length <= 100:
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"__typename": "Query"}
        assert entry["operation_name"] == name
    else:
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert entry["outcome"] == "invalid"


@pytest.mark.parametrize("size", [4096, 4097])
async def test_variables_of_4096_bytes_are_kept_whole_and_one_byte_more_capped(
    api: Api, runtime: Runtime, size: int
) -> None:
    """The cap is on the kept variables' canonical JSON, the bytes the chain hashes."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    code = "220183100001"  # a region code: plain, kept as it is
    # declared but flowing nowhere: recorded as "[redacted]"; the last name pads to size
    kept = {"r000": code, **{f"r{i:03d}": "[redacted]" for i in range(1, 200)}}
    pad = size - len(canonical(kept)) - len(',"":"[redacted]"')
    assert 0 < pad <= 100, pad  # a name of at most 100 characters
    kept["p" * pad] = "[redacted]"
    assert len(canonical(kept)) == size
    query = "query(" + ", ".join(f"${k}: String" for k in kept) + ") { "
    query += "households(first: 1, region: $r000) { totalCount } }"
    await api.post(worker, query, dict.fromkeys(kept, code))
    variables = (await entries(runtime))[-1]["variables"]
    if size <= 4096:
        assert variables == kept
    else:
        assert variables["_omitted"]["count"] > 0
        assert len(canonical(variables)) < 4096


def test_capped_variables_keep_in_order_what_fits_in_the_room_left_for_the_summary() -> None:
    """Variables are kept while their pieces fit in 4096 bytes less 200 for the summary,
    counted as 2 for the braces plus each variable's own `{"name":value}`: a piece
    that ends exactly at 3896 is kept, one a byte longer is not."""
    key = b"k" * 32
    for length, kept_whole in ((3886, True), (3887, False)):
        variables = {"a": "x" * length, "b": "y" * 300}
        assert (2 + len(canonical({"a": variables["a"]})) <= 3896) is kept_whole
        capped = cap_variables(variables, key=key)
        assert list(capped) == (["a", "_omitted"] if kept_whole else ["_omitted"])
        assert capped["_omitted"]["count"] == (1 if kept_whole else 2)


async def test_an_ordinary_entry_holds_no_refused_count_and_no_export(
    api: Api, runtime: Runtime
) -> None:
    """`refused_count` is on the summaries of refused requests only, `export` on the
    entries of files taken out: every other entry holds neither, not even as null,
    so it hashes as entries did before either field existed."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    await api.post(worker, STATUS, {"region": "220183100"})
    entry = (await entries(runtime))[-1]
    assert set(entry) == {
        "seq",
        "time",
        "principal",
        "role",
        "scope",
        "credential_id",
        "client",
        "operation_type",
        "operation_name",
        "document_hash",
        "variables",
        "fields",
        "archive_nos",
        "outcome",
        "error_codes",
        "duration_ms",
        "trace_id",
        "http_status",
        "lookups",
        "key_version",
    }


def test_an_entry_written_outside_a_request_records_no_duration_and_status_200() -> None:
    """The command-line export's entry and a refusal summary are written without a
    request to time: they record 0 ms, and the export (no HTTP answer at all) 200, the
    status of a request that was answered."""
    entry = AuditRecord(time=dt.datetime(2026, 12, 3, tzinfo=dt.UTC), client="cli", trace_id=None)
    kept = entry.as_dict()
    assert kept["duration_ms"] == 0.0
    assert kept["http_status"] == 200
