"""The hot path's statement cache keys on the statement itself, never on a caller's key."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, select

from store import households as store
from store.fastread import statement_key

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
