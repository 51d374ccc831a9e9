"""Scanned documents: metadata rows, and the sealed bytes in a store.

Bytes are sealed with the key file's current data key (AES-GCM, bound to the
document's id, as every encrypted column is bound to its row: store/crypto.py)
and opened with whichever version sealed them; a rotation keeps every version,
so a document stays readable across rotations without being rewritten.

Two stores hold the ciphertext:
- the database (the default): a row of `document_contents` per document,
  written in the request's transaction, so the document and its audit entry
  commit together or not at all;
- a directory (`DIBAO_DOCUMENT_DIR`): one file per document, named by its id,
  written and synced before the transaction commits. A request that then fails
  leaves a sealed file no row names: unreadable without the row, and harmless.

An object store would be a third class with the same two methods (`put` a
sealed blob under the id, `get` it back): the row, the hash and the sealing
stay as they are.

Rows are found through the household's region scope in SQL: a document outside
the caller's scope is not found, exactly as one that does not exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import beijing_day, beijing_midnight
from domain.documents import MAX_PER_HOUSEHOLD, DocumentCategory, RecordClass
from domain.errors import Conflict, QuotaExceeded
from store.crypto import Cipher
from store.households import _children_by_archive, in_scope
from store.models import ArchiveDocument, DocumentContent, Household, new_id

SEALED = ("documents", "content")  # the table and column the ciphertext is bound to
_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")


def is_document_id(value: str) -> bool:
    return _ID_RE.match(value) is not None


class DocumentStore(Protocol):
    """Where sealed bytes live, by document id."""

    name: str

    async def put(self, session: AsyncSession, document_id: str, blob: bytes) -> None: ...
    async def get(self, session: AsyncSession, document_id: str) -> bytes | None: ...


class DatabaseStore:
    name = "DATABASE"

    async def put(self, session: AsyncSession, document_id: str, blob: bytes) -> None:
        session.add(DocumentContent(document_id=document_id, content_enc=blob))

    async def get(self, session: AsyncSession, document_id: str) -> bytes | None:
        return await session.scalar(
            select(DocumentContent.content_enc).where(DocumentContent.document_id == document_id)
        )


class DirectoryStore:
    name = "DIRECTORY"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, document_id: str) -> Path:
        if not is_document_id(document_id):  # ids are ours: never a path of the caller's
            raise ValueError("not a document id")
        return self.directory / document_id

    async def put(self, session: AsyncSession, document_id: str, blob: bytes) -> None:
        # up to 20 MB and an fsync: off the event loop, which serves everyone else
        await asyncio.to_thread(self._write, document_id, blob)

    async def get(self, session: AsyncSession, document_id: str) -> bytes | None:
        return await asyncio.to_thread(self._read, document_id)

    def _write(self, document_id: str, blob: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self._path(document_id)
        tmp = target.with_name(f".{document_id}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, target)  # never replaces: an id is written once
        finally:
            tmp.unlink(missing_ok=True)

    def _read(self, document_id: str) -> bytes | None:
        try:
            return self._path(document_id).read_bytes()
        except FileNotFoundError:
            return None


def store_for(directory: Path | None) -> DocumentStore:
    return DirectoryStore(directory) if directory is not None else DatabaseStore()


async def attach(
    session: AsyncSession,
    cipher: Cipher,
    store: DocumentStore,
    *,
    archive_no: str,
    category: DocumentCategory,
    record_class: RecordClass,
    content_type: str,
    data: bytes,
    step: str | None,
    actor: str,
    now: dt.datetime,
    daily_bytes: int,
) -> ArchiveDocument:
    """A new document of a household the caller has already found in its scope, within
    the bytes the actor may file in a Beijing day (`daily_bytes`)."""
    today = beijing_day(now)
    filed = await session.scalar(
        select(func.coalesce(func.sum(ArchiveDocument.size), 0)).where(
            ArchiveDocument.uploaded_by == actor,
            ArchiveDocument.uploaded_at >= beijing_midnight(today),
        )
    )
    if int(filed or 0) + len(data) > daily_bytes:
        tomorrow = beijing_midnight(today + dt.timedelta(days=1))
        raise QuotaExceeded(
            f"file: you have filed {int(filed or 0) // 2**20} MB today; the daily allowance "
            f"is {daily_bytes // 2**20} MB (DIBAO_DOCUMENT_DAILY_MB); retry tomorrow",
            field="file",
            retry_after=int((tomorrow - now).total_seconds()) + 1,
        )
    held = await session.scalar(
        select(func.count())
        .select_from(ArchiveDocument)
        .where(ArchiveDocument.archive_no == archive_no)
    )
    if int(held or 0) >= MAX_PER_HOUSEHOLD:
        raise Conflict(
            f"archiveNo: the archive holds {MAX_PER_HOUSEHOLD} documents, the most it keeps",
            field="archiveNo",
        )
    document_id = new_id()
    table, column = SEALED
    blob = cipher.seal(data, table=table, column=column, row_id=document_id)
    row = ArchiveDocument(
        id=document_id,
        archive_no=archive_no,
        category=category.value,
        record_class=record_class.value,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        step=step,
        storage=store.name,
        uploaded_by=actor,
        uploaded_at=now,
    )
    session.add(row)
    await session.flush()  # the row before its content (foreign key)
    await store.put(session, document_id, blob)
    await session.flush()
    return row


async def documents_by_archive(
    session: AsyncSession, *, scope: str, archive_nos: Sequence[str]
) -> dict[str, list[ArchiveDocument]]:
    """Each household's documents, newest first, in the caller's scope."""
    found = await _children_by_archive(
        session,
        ArchiveDocument,
        scope=scope,
        archive_nos=archive_nos,
        order=[ArchiveDocument.archive_no, ArchiveDocument.uploaded_at, ArchiveDocument.id],
        bound=MAX_PER_HOUSEHOLD,
    )
    return {key: rows[::-1] for key, rows in found.items()}


async def document_in_scope(
    session: AsyncSession, *, scope: str, document_id: str
) -> ArchiveDocument | None:
    """The document when its household is in the scope; one statement either way, so
    an unknown id and one outside the scope take the same path."""
    if not is_document_id(document_id):
        return None
    return await session.scalar(
        select(ArchiveDocument)
        .join(Household, Household.archive_no == ArchiveDocument.archive_no)
        .where(ArchiveDocument.id == document_id, in_scope(scope))
    )


class DocumentDamaged(RuntimeError):
    """The stored bytes are missing, do not open, or do not hash to the recorded value."""


async def read_content(
    session: AsyncSession, cipher: Cipher, store: DocumentStore, row: ArchiveDocument
) -> bytes:
    blob = await store.get(session, row.id)
    if blob is None:
        raise DocumentDamaged("document content missing")
    table, column = SEALED
    try:
        data = cipher.open(blob, table=table, column=column, row_id=row.id)
    except Exception as exc:  # a wrong key, a moved or altered blob: never served
        raise DocumentDamaged("document content does not open") from exc
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise DocumentDamaged("document content does not match its hash")
    return data
