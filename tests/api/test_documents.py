"""Scanned documents (issue 16) through the API, on both backends: a GraphQL multipart
upload, its metadata on the household, its bytes from GET /documents/{id}, and what
each role, scope and attacker gets."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, text

from domain.documents import MAX_BYTES
from gateway.runtime import Runtime
from store.crypto import rotate_key_file
from store.models import ArchiveDocument, DocumentContent
from tests.api.documents_helpers import (
    ATTACH,
    DOCUMENTS,
    MARKER,
    download,
    household_with_worker,
    multipart_parts,
    pdf,
    png,
    upload,
)
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import OTHER_COUNTY_VILLAGE, issue_token
from tests.store.test_key_rotation import wait_for_version


def code(body: dict[str, object]) -> str:
    errors = body["errors"]
    assert isinstance(errors, list)
    return str(errors[0]["extensions"]["code"])


async def test_upload_round_trip_byte_for_byte(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    data = pdf(secrets.token_bytes(5000))
    before = len(await entries(runtime))
    response = await upload(api, worker, archive, data, category="ECONOMIC_STATUS", step="ACCEPT")
    assert response.status_code == 200, response.text
    filed = response.json()["data"]["attachDocument"]
    assert filed["sha256"] == hashlib.sha256(data).hexdigest()
    assert filed["size"] == len(data)
    assert filed["contentType"] == "application/pdf"
    assert filed["category"] == "ECONOMIC_STATUS"
    assert filed["recordClass"] == "APPROVAL"
    assert filed["step"] == "ACCEPT"
    assert filed["uploadedBy"] == "cw-docs"

    listed = await api.gql(worker, DOCUMENTS, {"a": archive})
    assert listed["data"]["household"]["documents"] == [filed]

    fetched = await download(api, worker, filed["id"])
    assert fetched.status_code == 200
    assert fetched.content == data
    assert hashlib.sha256(fetched.content).hexdigest() == filed["sha256"]
    assert fetched.headers["content-type"] == "application/pdf"
    assert fetched.headers["content-disposition"] == f'attachment; filename="{filed["id"]}.pdf"'
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert fetched.headers["cache-control"] == "no-store"

    # one entry for the upload, one for the listing, one for the download; no bytes
    log = (await entries(runtime))[before:]
    assert [e["operation_type"] for e in log] == ["mutation", "query", "download"]
    attach, _, fetch = log
    assert attach["outcome"] == "allowed" and attach["archive_nos"] == [archive]
    assert attach["variables"]["f"] == "[redacted]"
    assert attach["variables"]["s"] == "ACCEPT"  # a step of the chain: kept
    assert fetch["outcome"] == "allowed" and fetch["archive_nos"] == [archive]
    assert fetch["variables"] == {"id": filed["id"]}
    assert fetch["fields"] == {"Document.content": "read"}
    assert fetch["http_status"] == 200
    dumped = orjson.dumps(log)
    assert MARKER not in dumped and b"scan.pdf" not in dumped

    # a step typed freely is refused, and not kept in the entry
    free = await upload(api, worker, archive, data, step="王建国的身份证")
    assert code(free.json()) == "BAD_USER_INPUT"
    assert (await entries(runtime))[-1]["variables"]["s"] == "[redacted]"

    # sealed at rest: the plaintext is nowhere in the database row
    async with runtime.sessions() as session:
        blob = await session.scalar(
            select(DocumentContent.content_enc).where(DocumentContent.document_id == filed["id"])
        )
    assert blob is not None and MARKER not in blob


async def test_images_are_typed_by_content_and_classed_by_stage(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    image = png()
    # named and declared a PDF: the bytes say PNG, and PNG it is
    response = await upload(api, worker, archive, image, category="SPECIAL_HARDSHIP")
    filed = response.json()["data"]["attachDocument"]
    assert filed["contentType"] == "image/png"
    assert filed["recordClass"] == "APPROVAL"  # an application not yet decided
    daily = await upload(api, worker, archive, image, step="COMPLETE_REVIEW")
    assert daily.json()["data"]["attachDocument"]["recordClass"] == "DAILY"
    fetched = await download(api, worker, filed["id"])
    assert fetched.content == image
    assert fetched.headers["content-type"] == "image/png"


DISGUISED = {
    "html": b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
    "html_lower": b"<html><body onload=alert(1)>hi</body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "xml_svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
    "script": b"#!/bin/sh\nrm -rf /\n",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"x" * 64,
    "gzip": b"\x1f\x8b\x08\x00" + b"x" * 64,
    "pdf_word_only": b"PDF-1.7 not really\n",
    "png_without_header": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    "tiff_pointing_outside": b"II*\x00\xff\xff\x00\x00" + b"\x00" * 16,
}


async def test_disguised_and_unaccepted_files_are_refused(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    for name, data in DISGUISED.items():
        response = await upload(
            api, worker, archive, data, name="scan.pdf", declared="application/pdf"
        )
        assert response.status_code == 200, name
        body = response.json()
        assert body["data"] is None, name
        assert code(body) == "BAD_USER_INPUT", name
        assert body["errors"][0]["extensions"]["field"] == "file", name
    listed = await api.gql(worker, DOCUMENTS, {"a": archive})
    assert listed["data"]["household"]["documents"] == []


async def test_oversize_is_refused_without_a_crash(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    before = len(await entries(runtime))
    response = await upload(api, worker, archive, pdf(b"\x00" * MAX_BYTES))
    assert response.status_code == 413
    assert code(response.json()) == "BAD_USER_INPUT"
    log = (await entries(runtime))[before:]
    assert len(log) == 1 and log[0]["http_status"] == 413
    # the service goes on serving
    ok = await upload(api, worker, archive, pdf())
    assert ok.status_code == 200 and "errors" not in ok.json()


async def test_out_of_scope_download_is_not_found_as_an_unknown_id(
    api: Api, runtime: Runtime
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    filed = (await upload(api, worker, archive, pdf())).json()["data"]["attachDocument"]
    elsewhere = await issue_token(runtime, "caseworker", OTHER_COUNTY_VILLAGE[:9])
    outside = await download(api, elsewhere, filed["id"])
    unknown = await download(api, elsewhere, secrets.token_hex(16))
    malformed = await download(api, elsewhere, "..%2F..%2Fetc%2Fpasswd")
    assert outside.status_code == unknown.status_code == malformed.status_code == 404
    assert outside.content == unknown.content == malformed.content
    assert code(outside.json()) == "NOT_FOUND"
    # nor does the other township see the metadata, or attach to the archive
    listed = await api.gql(elsewhere, DOCUMENTS, {"a": archive})
    assert listed["data"]["household"] is None
    attach = (await upload(api, elsewhere, archive, pdf())).json()
    assert code(attach) == "NOT_FOUND"


async def test_a_head_request_is_refused_and_audited_as_no_download(
    api: Api, runtime: Runtime
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    filed = (await upload(api, worker, archive, pdf())).json()["data"]["attachDocument"]
    before = len(await entries(runtime))
    head = await api.client.head(
        f"/documents/{filed['id']}", headers={"authorization": f"Bearer {worker}"}
    )
    assert head.status_code == 405 and head.headers["allow"] == "GET"
    (entry,) = (await entries(runtime))[before:]
    assert entry["error_codes"] == ["BAD_USER_INPUT"] and entry["http_status"] == 405
    assert entry["outcome"] == "invalid" and entry["archive_nos"] == []


async def test_every_other_method_is_refused_and_audited_once(api: Api, runtime: Runtime) -> None:
    """Not only HEAD: any method but GET has its one entry (outcome invalid), the JSON
    error with its code, and an Allow that names only GET; no file is named as taken."""
    archive, worker = await household_with_worker(api, runtime)
    filed = (await upload(api, worker, archive, pdf())).json()["data"]["attachDocument"]
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        before = len(await entries(runtime))
        refused = await api.client.request(
            method, f"/documents/{filed['id']}", headers={"authorization": f"Bearer {worker}"}
        )
        assert refused.status_code == 405 and refused.headers["allow"] == "GET", method
        assert code(refused.json()) == "BAD_USER_INPUT", method
        (entry,) = (await entries(runtime))[before:]
        assert entry["outcome"] == "invalid" and entry["archive_nos"] == [], method
        assert entry["operation_type"] == "download", method


async def test_roles_the_policy_does_not_allow(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    filed = (await upload(api, worker, archive, pdf())).json()["data"]["attachDocument"]
    supervisor = await issue_token(runtime, "supervisor", "22")
    finance = await issue_token(runtime, "finance_officer", "220183")
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    partner = await issue_token(runtime, "partner", "22", fields=["Query.household"])

    # supervisors see what was filed, never the scans
    listed = await api.gql(supervisor, DOCUMENTS, {"a": archive})
    assert listed["data"]["household"]["documents"][0]["sha256"] == filed["sha256"]
    for token in (supervisor, finance, partner):
        refused = await download(api, token, filed["id"])
        assert refused.status_code == 403
        assert code(refused.json()) == "FORBIDDEN"
        # the same for an id that does not exist: the refusal tells nothing of ids
        assert (await download(api, token, secrets.token_hex(16))).content == refused.content
        attach = (await upload(api, token, archive, pdf())).json()
        assert code(attach) == "FORBIDDEN"
    denied = await api.post(finance, DOCUMENTS, {"a": archive})
    assert code(denied.json()) == "FORBIDDEN"
    # the county reviewer files and fetches like the caseworker
    assert (await download(api, reviewer, filed["id"])).content.startswith(b"%PDF-")
    assert "errors" not in (await upload(api, reviewer, archive, pdf())).json()
    # no credential: 401, before anything is read
    assert (await download(api, None, filed["id"])).status_code == 401
    assert (await upload(api, None, archive, pdf())).status_code == 401


async def test_key_rotation_leaves_documents_readable(
    api: Api, runtime: Runtime, key_file: Path
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    old_data, new_data = pdf(b"old"), pdf(b"new")
    old = (await upload(api, worker, archive, old_data)).json()["data"]["attachDocument"]
    rotate_key_file(key_file)
    await wait_for_version(runtime, 2)
    new = (await upload(api, worker, archive, new_data)).json()["data"]["attachDocument"]
    assert (await download(api, worker, old["id"])).content == old_data
    assert (await download(api, worker, new["id"])).content == new_data
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(DocumentContent.document_id, DocumentContent.content_enc)
        )
        blobs = dict(rows.all())
    assert int.from_bytes(blobs[old["id"]][1:3], "big") == 1
    assert int.from_bytes(blobs[new["id"]][1:3], "big") == 2


async def test_documents_are_never_deleted(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    await upload(api, worker, archive, pdf())
    for table in ("document_contents", "documents"):
        with pytest.raises(Exception, match="kept for their retention"):
            async with runtime.sessions.begin() as session:
                await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608
    async with runtime.sessions() as session:
        assert len((await session.scalars(select(ArchiveDocument))).all()) == 1


async def test_multipart_requests_that_break_the_spec_or_the_limits(
    api: Api, runtime: Runtime
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    auth = {"authorization": f"Bearer {worker}"}
    fields, _ = multipart_parts(ATTACH, {"a": archive, "c": "BASIC_INFORMATION"}, {})
    one = ("scan.pdf", pdf(), "application/pdf")

    async def send(data: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> int:
        before = len(await entries(runtime))
        response = await api.client.post("/graphql", data=data, files=files, headers=auth)
        body = response.json()
        assert code(body) == "BAD_USER_INPUT", body
        assert len(await entries(runtime)) == before + 1  # each refusal audited once
        return response.status_code

    # map before operations
    assert await send({"map": fields["map"], "operations": fields["operations"]}, {"0": one}) == 400
    # two files: over the limit of one
    two = {"map": orjson.dumps({"0": ["variables.f"], "1": ["variables.g"]}).decode()}
    assert await send({**fields, **two}, {"0": one, "1": one}) == 413
    # a file mapped outside the variables, or onto a place that is not null
    outside = {"map": orjson.dumps({"0": ["query"]}).decode()}
    assert await send({**fields, **outside}, {"0": one}) == 400
    taken = {"map": orjson.dumps({"0": ["variables.a"]}).decode()}
    assert await send({**fields, **taken}, {"0": one}) == 400
    # a file the map does not name
    assert await send({**fields, "map": "{}"}, {"0": one}) == 400
    # a batch
    batch = {"operations": orjson.dumps([{"query": ATTACH}]).decode(), "map": "{}"}
    assert await send(batch, {"0": one}) == 400
    # the file sent as a JSON string where the Upload goes
    body = await api.gql(
        worker, ATTACH, {"a": archive, "c": "BASIC_INFORMATION", "f": pdf().decode("latin-1")}
    )
    assert code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "file"
