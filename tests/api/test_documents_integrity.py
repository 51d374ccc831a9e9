"""Scanned documents (README, "Scanned documents"): a forged form is UNAUTHENTICATED before
its body is read; an archive holds at most 500 documents; a blob that does not open or
does not hash to its recorded SHA-256 is never served. Through HTTP, on both backends."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import insert, select, update

from domain.documents import MAX_PER_HOUSEHOLD
from gateway.runtime import Runtime
from store.crypto import Cipher, load_or_create_keys, rotate_key_file
from store.models import ArchiveDocument, DocumentContent
from store.rekey import rekey
from tests.api.documents_helpers import download, household_with_worker, pdf, upload
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.store.test_key_rotation import wait_for_version


def code(response_body: dict[str, object]) -> str:
    errors = response_body["errors"]
    assert isinstance(errors, list)
    return str(errors[0]["extensions"]["code"])


async def test_a_forged_form_is_unauthenticated_before_its_body_is_read(
    api: Api, runtime: Runtime
) -> None:
    """A cross-site form carries no `Authorization` header: refused before any byte of a
    body is read, even a body whose declared length is over every limit."""
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(4):
            sent.append(1)
            yield b"-" * 65536

    response = await api.client.post(
        "/graphql",
        content=body(),
        headers={
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(1 << 40),
        },
    )
    assert response.status_code == 401
    assert code(response.json()) == "UNAUTHENTICATED"
    assert len(sent) <= 1, "the body was read past its first chunk"
    [entry] = await entries(runtime)
    assert entry["outcome"] == "unauthenticated"


async def test_the_501st_document_of_an_archive_is_a_conflict(api: Api, runtime: Runtime) -> None:
    archive, worker = await household_with_worker(api, runtime)
    first = (await upload(api, worker, archive, pdf())).json()["data"]["attachDocument"]
    async with runtime.sessions.begin() as session:
        row = await session.get(ArchiveDocument, first["id"])
        assert row is not None
        blob = await session.get(DocumentContent, first["id"])
        assert blob is not None
        copies = [
            {
                "id": f"{n:032x}",
                "archive_no": archive,
                "category": row.category,
                "record_class": row.record_class,
                "content_type": row.content_type,
                "size": row.size,
                "sha256": row.sha256,
                "step": row.step,
                "storage": row.storage,
                "uploaded_by": row.uploaded_by,
                "uploaded_at": row.uploaded_at,
            }
            for n in range(1, MAX_PER_HOUSEHOLD)
        ]
        await session.execute(insert(ArchiveDocument), copies)
    refused = (await upload(api, worker, archive, pdf(b"one more"))).json()
    assert refused["data"] is None
    assert code(refused) == "CONFLICT"
    async with runtime.sessions() as session:
        held = (await session.scalars(select(ArchiveDocument.id))).all()
    assert len(held) == MAX_PER_HOUSEHOLD


async def test_a_blob_that_does_not_open_or_hash_is_never_served(
    api: Api, runtime: Runtime
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    data = pdf(b"the evidence")
    filed = (await upload(api, worker, archive, data)).json()["data"]["attachDocument"]
    assert (await download(api, worker, filed["id"])).content == data

    # the record says another SHA-256: the bytes open but are not what was filed
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(ArchiveDocument)
            .where(ArchiveDocument.id == filed["id"])
            .values(sha256=hashlib.sha256(b"something else").hexdigest())
        )
    mismatched = await download(api, worker, filed["id"])
    assert mismatched.status_code == 500
    assert code(mismatched.json()) == "INTERNAL"
    assert b"the evidence" not in mismatched.content

    # the record is right again, the ciphertext is not: it does not open
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(ArchiveDocument)
            .where(ArchiveDocument.id == filed["id"])
            .values(sha256=filed["sha256"])
        )
        blob = await session.get(DocumentContent, filed["id"])
        assert blob is not None
        broken = bytearray(blob.content_enc)
        broken[-1] ^= 1
        blob.content_enc = bytes(broken)
    unopened = await download(api, worker, filed["id"])
    assert unopened.status_code == 500
    assert code(unopened.json()) == "INTERNAL"
    assert b"the evidence" not in unopened.content


async def test_re_encryption_leaves_documents_under_the_key_that_sealed_them(
    api: Api, runtime: Runtime, key_file: Path
) -> None:
    """`dibao keys rotate` re-encrypts old rows in batches, but not documents: each stays
    under the version that sealed it, and readable."""
    archive, worker = await household_with_worker(api, runtime)
    data = pdf(b"sealed under the first key")
    filed = (await upload(api, worker, archive, data)).json()["data"]["attachDocument"]
    await asyncio.to_thread(rotate_key_file, key_file)
    await wait_for_version(runtime, 2)
    report = await rekey(runtime.engine, Cipher(load_or_create_keys(key_file)))
    assert report.version == 2 and sum(report.rows_rewritten.values()) > 0
    async with runtime.sessions() as session:
        blob = await session.get(DocumentContent, filed["id"])
    assert blob is not None
    assert int.from_bytes(blob.content_enc[1:3], "big") == 1
    assert (await download(api, worker, filed["id"])).content == data
