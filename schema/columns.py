"""How the fields of a household and a member are read off their rows: one table
for both read paths.

The Strawberry types (schema/types.py) build their values from it (`values`), and
their secret fields open through it; the compiled read path (gateway/compiled.py)
turns each entry into a direct getter over the raw row that gives exactly what
GraphQL serialises the value to (`Column.serialised`). A field added here is served
alike by both; tests/api/test_compiled_path.py compares them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from schema.enums import (
    Area,
    DisabilityKind,
    HouseholdStatus,
    RejectionReason,
    Relation,
    Sex,
    TerminationReason,
)
from store.crypto import Cipher


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Column:
    """A field read straight off one column.

    `typed` makes the stored value the type's Python value (an enum); `serialised`
    makes it what GraphQL sends: the stored value itself for text, numbers, booleans
    and enums (StrEnums whose names are their stored values), a Decimal as its
    string, a date or time in ISO 8601, as Strawberry's scalars serialise them.
    """

    column: str
    typed: Callable[[Any], Any] | None = None
    serialised: Callable[[Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class Secret:
    """A field stored as ciphertext in `<column>_enc`, bound to its table, column and
    the row named by `row_id`; opened only when the field is asked for."""

    table: str
    column: str
    row_id: str

    @property
    def stored(self) -> str:
        return f"{self.column}_enc"

    def open(self, blob: bytes | None, row_id: str, cipher: Cipher) -> str | None:
        if blob is None:
            return None
        return cipher.decrypt(blob, table=self.table, column=self.column, row_id=row_id)


def money(column: str) -> Column:
    return Column(column, serialised=_money)


def when(column: str) -> Column:
    return Column(column, serialised=_iso)


def _closing(step: str) -> Callable[[dict[str, Any] | None], list[str]]:
    """The coded reasons the county gave, when its closing step was `step`."""

    def codes(closing: dict[str, Any] | None) -> list[str]:
        closing = closing or {}
        return list(closing.get("reasons", [])) if closing.get("step") == step else []

    return codes


_rejection_codes = _closing("REJECT")
_termination_codes = _closing("TERMINATE")


def _first(codes: list[str]) -> str | None:
    return codes[0] if codes else None


# By the Strawberry types' Python field names.
HOUSEHOLD_COLUMNS: Final[Mapping[str, Column]] = {
    "archive_no": Column("archive_no"),
    "region_code": Column("village_code"),
    "area": Column("area", Area),
    "status": Column("status", HouseholdStatus),
    "address": Column("address"),
    "bank_name": Column("bank_name"),
    "monthly_benefit": money("monthly_benefit"),
    "review_class": Column("review_class"),
    "applied_at": when("applied_at"),
    "updated_at": when("updated_at"),
    "next_review_on": when("next_review_on"),
    "decided_on": when("decided_on"),
    "gradual_exit_until": when("gradual_exit_until"),
    "county_visit_on": when("county_visit_on"),
    # the county's coded reasons, kept with the step that closed the case
    "rejection_reasons": Column(
        "closing_reasons",
        lambda c: [RejectionReason(code) for code in _rejection_codes(c)],
        _rejection_codes,
    ),
    "termination_reason": Column(
        "closing_reasons",
        lambda c: (
            None if (code := _first(_termination_codes(c))) is None else TerminationReason(code)
        ),
        lambda c: _first(_termination_codes(c)),
    ),
    "termination_proposal": Column(
        "termination_proposal", lambda v: None if v is None else TerminationReason(v)
    ),
    "missing_materials": Column(
        "missing_materials", lambda v: list(v or []), lambda v: list(v or [])
    ),
    "single_person_cover": Column("single_person_cover"),
    "marginal": Column("marginal"),
    "legacy_archive_no": Column("legacy_archive_no"),
}
HOUSEHOLD_SECRETS: Final[Mapping[str, Secret]] = {
    "bank_account": Secret("households", "bank_account", "archive_no"),
}
MEMBER_COLUMNS: Final[Mapping[str, Column]] = {
    "id": Column("id"),
    "staff_relative": Column("staff_relative"),
    "relation": Column("relation", Relation),
    "sex": Column("sex", Sex),
    "birth_date": when("birth_date"),
    "monthly_income": money("monthly_income"),
    "disability_grade": Column("disability_grade"),
    "disability_kind": Column(
        "disability_kind", lambda v: None if v is None else DisabilityKind(v)
    ),
    "covered": Column("covered"),
    "serious_illness": Column("serious_illness"),
    "student": Column("student"),
}
MEMBER_SECRETS: Final[Mapping[str, Secret]] = {
    "name": Secret("members", "name", "id"),
    "id_number": Secret("members", "id_number", "id"),
    "phone": Secret("members", "phone", "id"),
}


def values(columns: Mapping[str, Column], row: object) -> dict[str, Any]:
    """The fields' Python values read off an ORM row, by field name."""
    found: dict[str, Any] = {}
    for name, spec in columns.items():
        value = getattr(row, spec.column)
        found[name] = value if spec.typed is None else spec.typed(value)
    return found
