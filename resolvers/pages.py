"""What a paged resolver returns: the rows with their cursors, plain data.

The schema wraps a page into its Relay connection (`schema/types.py`); resolvers
know nothing of GraphQL types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page: each row with its cursor, whether more follow, and the count of all
    matching rows (an awaitable factory, run only when `totalCount` is asked)."""

    rows: Sequence[tuple[T, str]]
    has_next: bool
    after: str | None
    count: Callable[[], Awaitable[int]] | None = None

    @property
    def cursors(self) -> list[str]:
        return [cursor for _, cursor in self.rows]
