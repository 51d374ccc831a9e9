"""Exceptions as the server log may show them: classes and frames, never messages.

A database driver's message quotes the statement and often its parameters, and
a validation message may quote what the caller sent, so a logged exception
message can carry a name or an ID number into a log nobody audits. The class
and the frames are enough to find the fault; the request's trace id and audit
entry say which request it was.
"""

from __future__ import annotations

import re
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


# Eleven or more digits in a row (an ID number may end in X): a mobile phone, an ID
# number, a bank account. Nothing the service itself logs is that long.
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9]{11,}[Xx]?(?![0-9])")
WITHHELD = "[digits withheld]"


def withhold_digits(text: str) -> str:
    """A log message with every long run of digits replaced: a library's message may
    quote a value it was given, and these are the values that identify a person."""
    return _LONG_DIGITS.sub(WITHHELD, text)
