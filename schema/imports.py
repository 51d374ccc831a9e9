"""What an import of a paper-era register answers (issue 16): counts, refused rows."""

from __future__ import annotations

import strawberry

from domain.legacy import KIND_LABELS, ErrorKind
from resolvers.imports import MAX_SHOWN_ERRORS, ImportReport
from schema.pricing import priced

MAX_SHOWN_ARCHIVES = 500


@strawberry.type(description="A refused row: its number, the column, why (in Chinese, no value).")
class ImportRowError:
    row: int
    column: str
    kind: str
    message: str


@strawberry.type(description="Refused rows of one kind, with the kind's Chinese label.")
class ImportErrorCount:
    kind: str
    label: str
    count: int


@strawberry.type(
    description="An import of a register (导入): what was read, imported, already there, "
    "refused; a dry run writes nothing and answers the same."
)
class ImportResult:
    dry_run: bool
    source_sha256: str
    rows: int
    households: int
    imported: int
    already_imported: int
    refused: int
    errors: list[ImportRowError] = strawberry.field(
        description="The first refused rows (the CLI's report file holds them all).",
        metadata=priced(bound=MAX_SHOWN_ERRORS),
    )
    errors_by_kind: list[ImportErrorCount] = strawberry.field(metadata=priced(bound=len(ErrorKind)))
    archive_nos: list[str] = strawberry.field(
        description="Archive numbers (一户一号) given to the first imported households.",
        metadata=priced(bound=MAX_SHOWN_ARCHIVES),
    )

    @classmethod
    def from_report(cls, r: ImportReport) -> ImportResult:
        return cls(
            dry_run=r.dry_run,
            source_sha256=r.source_sha256,
            rows=r.rows,
            households=r.households,
            imported=r.imported,
            already_imported=r.already_imported,
            refused=r.refused,
            errors=[
                ImportRowError(row=e.row, column=e.column, kind=e.kind.value, message=e.message)
                for e in r.errors[:MAX_SHOWN_ERRORS]
            ],
            errors_by_kind=[
                ImportErrorCount(kind=k, label=KIND_LABELS[ErrorKind(k)], count=n)
                for k, n in sorted(r.errors_by_kind.items())
            ],
            archive_nos=r.archive_nos[:MAX_SHOWN_ARCHIVES],
        )
