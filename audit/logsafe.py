"""Exceptions as the server log may show them: classes and frames, never messages.

A database driver's message quotes the statement and often its parameters, and
a validation message may quote what the caller sent, so a logged exception
message can carry a name or an ID number into a log nobody audits. The class
and the frames are enough to find the fault; the request's trace id and audit
entry say which request it was.
"""

from __future__ import annotations

import traceback

MAX_CHAIN = 5  # causes followed; deeper chains add nothing a developer needs


def describe(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(current))
        kind = type(current)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
        parts.extend(traceback.format_tb(current.__traceback__))
        current = current.__cause__ or current.__context__
    return "".join(parts).rstrip()
