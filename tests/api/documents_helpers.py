"""Scanned documents through the API: a household to file them in, and the calls."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx
import orjson

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
ATTACH = """mutation($a: String!, $c: DocumentCategory!, $f: Upload!, $s: String) {
  attachDocument(archiveNo: $a, category: $c, file: $f, step: $s) {
    id category recordClass contentType size sha256 step uploadedBy uploadedAt } }"""
DOCUMENTS = """query($a: String!) { household(archiveNo: $a) { documents {
  id category recordClass contentType size sha256 step uploadedBy uploadedAt } } }"""
MARKER = b"MARKER-7f3c1e"  # in every test file: must never show in the audit log


def pdf(body: bytes = b"") -> bytes:
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
        + MARKER
        + body
        + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + MARKER)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def multipart_parts(
    query: str, variables: dict[str, Any], files: dict[str, tuple[str, bytes, str]]
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """The spec's `operations` and `map`, each file's place null in the variables."""
    mapping = {key: [f"variables.{var}"] for key, var in zip(files, ("f",), strict=False)}
    operations = {"query": query, "variables": {**variables, "f": None}}
    return {
        "operations": orjson.dumps(operations).decode(),
        "map": orjson.dumps(mapping).decode(),
    }, files


async def upload(
    api: Api,
    token: str | None,
    archive_no: str,
    data: bytes,
    *,
    name: str = "scan.pdf",
    declared: str = "application/pdf",
    category: str = "BASIC_INFORMATION",
    step: str | None = None,
) -> httpx.Response:
    fields, files = multipart_parts(
        ATTACH, {"a": archive_no, "c": category, "s": step}, {"0": (name, data, declared)}
    )
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await api.client.post("/graphql", data=fields, files=files, headers=headers)


async def download(api: Api, token: str | None, document_id: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await api.client.get(f"/documents/{document_id}", headers=headers)


async def household_with_worker(api: Api, runtime: Runtime) -> tuple[str, str]:
    """A submitted household in the caseworker's township, and that caseworker's token."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-docs")
    body = await api.gql(worker, SUBMIT, {"input": application()})
    assert "errors" not in body, body
    return body["data"]["submitApplication"]["archiveNo"], worker
