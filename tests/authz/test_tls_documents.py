"""Trusted documents and certificate-bound credentials, over a real TLS connection to `dibao serve`."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from tests.certs import Authority, Pair
from tests.cli.test_cli import adibao

DOCUMENTS = """
# approved for the public security bureau's batch check
query Check($id: String!) { verifyRecipient(idNumber: $id) { isRecipient status } }

query CheckWithName($id: String!) { verifyRecipient(idNumber: $id) { ...Who } }
fragment Who on RecipientCheck { isRecipient name }
"""
APPROVED_REFORMATTED = (
    "query Check( $id : String! ) {\n  verifyRecipient(idNumber: $id) { isRecipient, status }\n}"
)
OTHER = "query Check($id: String!) { verifyRecipient(idNumber: $id) { isRecipient countyCode } }"
ID = "11010519491231002X"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Authority, Pair, Pair, Pair]:
    ca = Authority(tmp_path)
    return ca, ca.issue("server", server=True), ca.issue("partner-a"), ca.issue("partner-b")


@pytest.fixture
def server(settings: Settings, tls: tuple[Authority, Pair, Pair, Pair]) -> Iterator[str]:
    ca, srv, _, _ = tls
    port = _port()
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
    }
    dibao = str(Path(sys.executable).parent / "dibao")
    process = subprocess.Popen(
        [dibao, "serve", "--port", str(port), "--tls-cert", str(srv.cert), "--tls-key", str(srv.key),
         "--client-ca", str(ca.pair.cert)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _client(ca: Authority, cert: Pair | None) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(ca.pair.cert))
    if cert is not None:
        context.load_cert_chain(str(cert.cert), str(cert.key))
    return httpx.AsyncClient(verify=context, timeout=5)


async def _wait(url: str, ca: Authority) -> None:
    async with _client(ca, None) as client:
        for _ in range(100):
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    pytest.fail("TLS server did not start")


async def _token(settings: Settings, tmp_path: Path, *extra: str) -> str:
    issued = await adibao(
        settings,
        "token",
        "issue",
        "--principal",
        "gongan",
        "--role",
        "partner",
        "--region",
        "22",
        *extra,
    )
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip().splitlines()[-1]


async def test_trusted_documents_and_certificate_binding_over_tls(
    settings: Settings, tls: tuple[Authority, Pair, Pair, Pair], server: str, tmp_path: Path
) -> None:
    ca, _, partner_a, partner_b = tls
    documents = tmp_path / "approved.graphql"
    documents.write_text(DOCUMENTS, encoding="utf-8")
    bound = await _token(
        settings, tmp_path, "--documents", str(documents), "--client-cert", str(partner_a.cert)
    )
    await _wait(server, ca)
    url = server + "/graphql"
    headers = {"authorization": f"Bearer {bound}"}
    async with _client(ca, partner_a) as client:
        approved = await client.post(
            url, json={"query": APPROVED_REFORMATTED, "variables": {"id": ID}}, headers=headers
        )
        assert approved.json() == {
            "data": {"verifyRecipient": {"isRecipient": False, "status": None}}
        }
        assert approved.headers["strict-transport-security"].startswith("max-age=")
        from gateway.documents import document_id, split_operations

        ids = [document_id(text) for text in split_operations(DOCUMENTS)]
        by_id = await client.post(
            url, json={"documentId": ids[1], "variables": {"id": ID}}, headers=headers
        )
        assert by_id.json() == {"data": {"verifyRecipient": {"isRecipient": False, "name": None}}}
        other = await client.post(
            url, json={"query": OTHER, "variables": {"id": ID}}, headers=headers
        )
        assert other.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        unknown = await client.post(url, json={"documentId": "sha256:" + "0" * 64}, headers=headers)
        assert unknown.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # the token alone is not enough: another certificate, or none, is refused
    for cert in (partner_b, None):
        async with _client(ca, cert) as client:
            refused = await client.post(
                url, json={"query": APPROVED_REFORMATTED, "variables": {"id": ID}}, headers=headers
            )
            assert refused.status_code == 401, cert
    # an unbound credential still works, with a client certificate or without one
    plain = await _token(settings, tmp_path)
    for cert in (None, partner_b):
        async with _client(ca, cert) as client:
            ok = await client.post(
                url,
                json={"query": OTHER, "variables": {"id": ID}},
                headers={"authorization": f"Bearer {plain}"},
            )
            assert ok.json() == {
                "data": {"verifyRecipient": {"isRecipient": False, "countyCode": None}}
            }, cert
