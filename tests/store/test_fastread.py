"""The hot path's statement cache keys on the statement itself, never on a caller's key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from opentelemetry import trace
from sqlalchemy import Integer, Select, String, bindparam, select
from sqlalchemy.ext.asyncio import create_async_engine

from store import fastread
from store import households as store
from store.fastread import FastReader, statement_key

TODAY = dt.date(2026, 1, 1)


def page(scope: str, *, region: str | None = None, after: bool = False) -> Select[Any]:
    flt = store.HouseholdFilter(scope=scope, region=region)
    stmt = store._filtered(select(store.HOUSEHOLDS.c.archive_no), flt, TODAY)
    if after:
        stmt = stmt.where(store.HOUSEHOLDS.c.archive_no > bindparam("after", type_=String))
    return stmt.limit(bindparam("limit", type_=Integer))


def test_same_statement_same_key() -> None:
    assert statement_key(page("110101")) == statement_key(page("110101"))


def test_scope_region_and_filters_each_make_a_new_statement() -> None:
    keys = {
        statement_key(s)
        for s in (
            page("110101"),
            page("110102"),
            page(""),
            page("110101", region="110101001"),
            page("110101", after=True),
        )
    }
    assert len(keys) == 5


def test_a_value_fixed_in_the_statement_is_part_of_the_key() -> None:
    table = store.HOUSEHOLDS
    one = select(table.c.archive_no).where(table.c.status == "ACTIVE")
    other = select(table.c.archive_no).where(table.c.status == "SUSPENDED")
    assert statement_key(one) != statement_key(other)


def test_the_compiled_reads_build_a_statement_once_per_shape_and_scope() -> None:
    """Built once and reused (no statement or cache key per request); the scope is one
    of the arguments the reuse keys on, so another scope gets its own statement."""
    columns = ("archive_no", "status")
    one = store._household_statement(columns, "220183")
    assert store._household_statement(columns, "220183") is one
    other = store._household_statement(columns, "220184")
    assert other is not one and statement_key(other) != statement_key(one)
    member_columns = ("archive_no", "relation")
    members = store._members_statement(member_columns, "220183", True)
    assert store._members_statement(member_columns, "220183", True) is members
    assert store._members_statement(member_columns, "220184", True) is not members
    flt = store.HouseholdFilter(scope="220183")
    paged = store._page_statement(columns, flt, TODAY, False)
    assert (
        store._page_statement(columns, store.HouseholdFilter(scope="220183"), TODAY, False) is paged
    )
    assert (
        store._page_statement(columns, store.HouseholdFilter(scope="22"), TODAY, False) is not paged
    )


def test_a_reused_statement_is_found_by_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader compiles a reused statement once and then finds it without its key."""
    reader = FastReader(create_async_engine("sqlite+aiosqlite://"), trace.NoOpTracer())
    stmt = store._household_statement(("archive_no",), "220183")
    first = reader.statement(stmt)

    def no_key(_: object) -> None:
        raise AssertionError("the cache key was built again")

    monkeypatch.setattr(fastread, "statement_key", no_key)
    assert reader.statement(stmt).sql == first.sql
    assert "220183" in first.sql  # the scope's range, in the WHERE
