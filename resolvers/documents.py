"""Scanned documents (立案存储): attach one to an archive.

Who may attach is policy data; the household is found in the caller's scope in
SQL. The type is detected from the bytes with puremagic (pure Python, its
signature table maintained with the library, no libmagic to install) and its
header is then checked by domain/documents.py: the name and the declared type
are never read for it.
"""

from __future__ import annotations

from typing import Any

import puremagic

from domain.archive import parse_archive_no
from domain.documents import (
    ACCEPTED_TYPES,
    MAX_BYTES,
    DocumentCategory,
    UploadedFile,
    confirm_type,
    parse_step,
    record_class,
)
from domain.enums import HouseholdStatus
from domain.errors import InvalidInput
from resolvers.context import Info
from store import documents as store
from store.models import ArchiveDocument
from store.workflow import household_in_scope


def detect(data: bytes) -> str | None:
    """The most likely type of `data` by its signatures, or None for none known.

    Only the strongest matches count: an HTML page that also matches a weaker
    signature is HTML. Among equally strong ones an accepted type is preferred
    (a PDF header also matches the PDF form format), and its header is checked
    after this (domain.documents.confirm_type)."""
    try:
        found = puremagic.magic_string(data)
    except puremagic.PureError:
        return None
    if not found:
        return None
    top = max(m.confidence for m in found)
    strongest = [str(m.mime_type) for m in found if m.confidence == top]
    return next((t for t in strongest if t in ACCEPTED_TYPES), strongest[0] or None)


def _file(file: Any) -> UploadedFile:
    if not isinstance(file, UploadedFile):  # a string sent as JSON where a file goes
        raise InvalidInput(
            "file: send the document as a multipart upload (GraphQL multipart request)",
            field="file",
        )
    if not file.data:
        raise InvalidInput("file: the document is empty", field="file")
    if len(file.data) > MAX_BYTES:
        raise InvalidInput(f"file: at most {MAX_BYTES // (1024 * 1024)} MB", field="file")
    return file


async def attach_document(
    info: Info,
    archive_no: str,
    category: DocumentCategory,
    file: Any,
    step: str | None = None,
) -> ArchiveDocument:
    parse_archive_no(archive_no)
    upload = _file(file)
    at_step = parse_step(step)
    content_type = confirm_type(detect(upload.data), upload.data)
    ctx = info.context
    async with ctx.writing() as session:
        household = await household_in_scope(
            session, scope=ctx.principal.scope, archive_no=archive_no
        )
        row = await store.attach(
            session,
            ctx.cipher,
            store.store_for(ctx.settings.document_dir),
            archive_no=archive_no,
            category=category,
            record_class=record_class(at_step, HouseholdStatus(household.status)),
            content_type=content_type,
            data=upload.data,
            step=at_step.value if at_step is not None else None,
            actor=ctx.principal.name,
            now=ctx.now,
            daily_bytes=ctx.settings.document_daily_mb * 2**20,
        )
    ctx.touched.add(archive_no)
    return row
