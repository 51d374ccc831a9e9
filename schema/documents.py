"""GraphQL types of scanned documents (立案存储): what was filed, never the bytes.

The bytes are fetched from `GET /documents/{id}` (gateway/downloads.py), which
the policy decides as `Document.content`.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from domain.documents import DocumentCategory, RecordClass
from store.models import ArchiveDocument

strawberry.enum(
    DocumentCategory,
    description=(
        "The class of evidence: basic information (基本信息), economic status (经济状况), "
        "education and medical (教育医疗), special hardship (特殊困难)."
    ),
)
strawberry.enum(
    RecordClass,
    description="The record class that decides retention: 审批类 (APPROVAL) or 日常管理类 (DAILY).",
)


@strawberry.type(description="A scanned document of the archive; its bytes: GET /documents/{id}.")
class Document:
    id: strawberry.ID
    category: DocumentCategory
    record_class: RecordClass
    content_type: str = strawberry.field(description="Detected from the content.")
    size: int = strawberry.field(description="Bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the document, hex.")
    step: str | None = strawberry.field(description="The review chain step it was filed at.")
    uploaded_by: str
    uploaded_at: dt.datetime

    @classmethod
    def from_row(cls, row: ArchiveDocument) -> Document:
        return cls(
            id=strawberry.ID(row.id),
            category=DocumentCategory(row.category),
            record_class=RecordClass(row.record_class),
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
            step=row.step,
            uploaded_by=row.uploaded_by,
            uploaded_at=row.uploaded_at,
        )
