"""Scanned documents attached to an archive (立案存储): their categories, record classes
and the content rules every upload must pass.

The type of a document is what its bytes are, never what its name or the sender
says: the header checks here confirm the signature a detector found (see
resolvers/documents.py), so a file that only begins like a PDF or a PNG and is
something else is refused too.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from domain.enums import HouseholdStatus
from domain.errors import InvalidInput
from domain.workflow import Step

MAX_BYTES = 20 * 1024 * 1024  # the largest document accepted
MAX_PER_HOUSEHOLD = 500  # documents one archive holds: the bound of Household.documents
# megabytes one principal may file in a Beijing day (DIBAO_DOCUMENT_DAILY_MB): a day of
# scanning paper archives fits, a credential filling the disk does not
DAILY_MB = 2048
MAX_FILENAME = 255


class DocumentCategory(enum.StrEnum):
    """The seed's classes of evidence (材料类别)."""

    BASIC_INFORMATION = "BASIC_INFORMATION"  # 基本信息: ID cards, household register
    ECONOMIC_STATUS = "ECONOMIC_STATUS"  # 经济状况: income proofs, assets
    EDUCATION_MEDICAL = "EDUCATION_MEDICAL"  # 教育医疗: school, illness, disability
    SPECIAL_HARDSHIP = "SPECIAL_HARDSHIP"  # 特殊困难: home-visit photos, hardship proofs


class RecordClass(enum.StrEnum):
    """The record class that decides retention (档案分类)."""

    APPROVAL = "APPROVAL"  # 审批类: the evidence of a decision
    DAILY = "DAILY"  # 日常管理类: dynamic management of a running case


# steps of dynamic management (动态管理): what is attached at them is a daily record
_DAILY_STEPS = frozenset(
    {
        Step.SUSPEND,
        Step.RESUME,
        Step.COMPLETE_REVIEW,
        Step.ENTER_GRADUAL_EXIT,
        Step.PROPOSE_TERMINATION,
        Step.TERMINATE,
        Step.ARCHIVE,
    }
)
# statuses after approval: a document attached without a step belongs to the running case
_RUNNING = frozenset(
    {
        HouseholdStatus.ACTIVE,
        HouseholdStatus.SUSPENDED,
        HouseholdStatus.GRADUAL_EXIT,
        HouseholdStatus.TERMINATED,
        HouseholdStatus.ARCHIVED,
    }
)


def parse_step(step: str | None) -> Step | None:
    if step is None:
        return None
    try:
        return Step(step)
    except ValueError:
        raise InvalidInput(
            "step: one of the review chain's steps (e.g. ACCEPT, INVESTIGATE, COMPLETE_REVIEW)",
            field="step",
        ) from None


def record_class(step: Step | None, status: HouseholdStatus) -> RecordClass:
    """审批类 for the evidence of the application and its decision, 日常管理类 for
    what dynamic management collects; without a step, the case's stage decides."""
    if step is not None:
        return RecordClass.DAILY if step in _DAILY_STEPS else RecordClass.APPROVAL
    return RecordClass.DAILY if status in _RUNNING else RecordClass.APPROVAL


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file of a multipart request, read whole (at most MAX_BYTES were accepted).

    `filename` and `declared_type` are what the client said: kept for nothing but
    a message, never trusted for the type."""

    filename: str
    declared_type: str | None
    data: bytes

    def __repr__(self) -> str:  # never the bytes, in a log or a traceback
        return f"UploadedFile(size={len(self.data)})"


PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
ACCEPTED_TYPES = (PDF, JPEG, PNG, TIFF)

_PDF_HEADER = re.compile(rb"\A%PDF-[12]\.[0-9]")
_JPEG_MARKERS = frozenset(range(0xC0, 0xFF)) - {0xC8}  # a marker segment follows SOI


def confirm_type(detected: str | None, data: bytes) -> str:
    """The accepted type `data` is, when its header holds together as that type;
    anything else is refused (HTML, SVG, scripts, archives, a PDF that is not one)."""
    if detected not in ACCEPTED_TYPES or not _header_holds(detected, data):
        raise InvalidInput(
            "file: not a PDF, JPEG, PNG or TIFF document (the content decides, not the name)",
            field="file",
        )
    return detected


def _header_holds(kind: str, data: bytes) -> bool:
    if kind == PDF:
        return _PDF_HEADER.match(data) is not None
    if kind == PNG:  # signature, then the IHDR chunk of 13 bytes with a non-zero size
        if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
            return False
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return int.from_bytes(data[8:12], "big") == 13 and width > 0 and height > 0
    if kind == JPEG:  # start of image, then a marker segment
        return len(data) > 4 and data[:3] == b"\xff\xd8\xff" and data[3] in _JPEG_MARKERS
    if kind == TIFF:  # byte order, 42, and the first directory inside the file
        if len(data) < 8 or data[:4] not in (b"II*\x00", b"MM\x00*"):
            return False
        raw = data[4:8]
        offset = int.from_bytes(raw, "little") if data[:2] == b"II" else int.from_bytes(raw, "big")
        return 8 <= offset < len(data)
    return False
