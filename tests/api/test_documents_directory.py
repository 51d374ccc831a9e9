"""The directory store (DIBAO_DOCUMENT_DIR): one sealed file per document, named by
its id, nothing of the bytes in the database; the round trip is the same."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import ArchiveDocument, DocumentContent
from tests.api.documents_helpers import MARKER, download, household_with_worker, pdf, upload
from tests.conftest import Api


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, document_dir=tmp_path / "documents")


async def test_directory_store_round_trip(api: Api, runtime: Runtime, settings: Settings) -> None:
    archive, worker = await household_with_worker(api, runtime)
    data = pdf(b"kept in a directory")
    filed = (await upload(api, worker, archive, data)).json()["data"]["attachDocument"]
    assert filed["sha256"] == hashlib.sha256(data).hexdigest()
    assert settings.document_dir is not None
    stored = settings.document_dir / filed["id"]
    sealed = stored.read_bytes()
    assert MARKER not in sealed and len(sealed) > len(data)  # ciphertext, nonce and tag
    assert stored.stat().st_mode & 0o077 == 0
    assert [p.name for p in settings.document_dir.iterdir()] == [filed["id"]]
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DocumentContent)) == 0
        row = await session.get(ArchiveDocument, filed["id"])
        assert row is not None and row.storage == "DIRECTORY"
    fetched = await download(api, worker, filed["id"])
    assert fetched.status_code == 200 and fetched.content == data


async def test_a_tampered_file_is_never_served(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    filed = (await upload(api, worker, archive, pdf())).json()["data"]["attachDocument"]
    assert settings.document_dir is not None
    stored = settings.document_dir / filed["id"]
    sealed = bytearray(stored.read_bytes())
    sealed[-1] ^= 1
    stored.write_bytes(bytes(sealed))
    fetched = await download(api, worker, filed["id"])
    assert fetched.status_code == 500
    assert fetched.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert b"%PDF" not in fetched.content
