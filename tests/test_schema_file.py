"""The committed schema.graphql is the public contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from schema.root import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_is_current() -> None:
    printed = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed, (
        "schema.graphql is stale: run `make schema` and review the diff"
    )


def test_spec_entry_points_exist() -> None:
    printed = build_schema().as_str()
    assert "household(" in printed
    assert "archiveNo: String!" in printed
    assert "verifyRecipient(idNumber: String!): RecipientCheck" in printed
    assert (
        "households(region: String = null, status: [HouseholdStatus!] = null, "
        "category: Category = null" in printed
    )
