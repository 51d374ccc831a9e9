"""Exports through the public API: request a file, fetch it, read it back."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.api.documents_helpers import multipart_parts
from tests.conftest import Api

REQUEST = """mutation($k: ExportKind!, $p: ExportParams!) {
  requestExport(kind: $k, params: $p) {
    id kind format rowCount totalAmount sha256 size createdAt } }"""
BANK_RETURN = """mutation($b: ID!, $f: Upload!) { importBankReturn(batchId: $b, file: $f) {
  applied lines disbursed failed moreProblems problems { line message } } }"""
EXPORTS = """query($n: Int) { exports(newest: $n) {
  id kind format principal role scope batchId region rowCount sha256 createdAt } }"""


async def request(api: Api, token: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return await api.gql(token, REQUEST, {"k": kind, "p": params})


def ticket(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["requestExport"]
    return found


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def fetch(api: Api, token: str | None, export_id: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await api.client.get(f"/exports/{export_id}", headers=headers)


def sheet(data: bytes, fmt: str) -> list[list[str]]:
    """The file's rows as texts (numbers as the cell shows them, to the cent)."""
    if fmt == "CSV":
        assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with the UTF-8 BOM"
        return [list(r) for r in csv.reader(io.StringIO(data.decode("utf-8-sig")))]
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = []
    for row in book.get_sheet_by_index(0).iter_rows():
        rows.append([f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    return rows


async def upload_return(api: Api, token: str, batch_id: str, data: bytes) -> dict[str, Any]:
    fields, files = multipart_parts(
        BANK_RETURN, {"b": batch_id}, {"0": ("回盘.csv", data, "text/csv")}
    )
    response = await api.client.post(
        "/graphql", data=fields, files=files, headers={"authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    return body


def bank_file(lines: list[tuple[str, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["付款编号", "结果", "银行流水号", "失败原因"])
    writer.writerows(lines)
    return out.getvalue().encode("utf-8-sig")
