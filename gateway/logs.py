"""The server's log: one JSON object per line, or readable lines on a terminal.

The standard library's logging with a formatter of our own, rather than a
logging framework: uvicorn, SQLAlchemy and asyncio already log through it, so
one handler on the root logger puts every line in the same form, and the
formatter is the one place that decides what a line may carry.

What a line may carry: the trace id (the same as the request's audit entry and
its X-Trace-Id header, so a line leads to the entry and back), the principal,
role, operation name, outcome, status and duration of a request. Never a value
a caller sent or the archive returned: exceptions are written as classes and
frames (audit.logsafe.describe), and the message itself passes through
`withhold_digits`, in case a library quotes an ID number, a phone or an account.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any, TextIO

import orjson

from audit.logsafe import describe, withhold_digits
from gateway.tracing import current_trace_id, fault_trace_id

# the fields a request's line carries, in this order after time, level, logger and message
FIELDS = (
    "trace_id",
    "principal",
    "role",
    "operation",
    "operation_type",
    "outcome",
    "status",
    "duration_ms",
    "error_codes",
)


def _base(record: logging.LogRecord) -> dict[str, Any]:
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    body: dict[str, Any] = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": withhold_digits(record.getMessage()),
        # lines written while a request runs belong to its trace
        # (and the server's line of a fault no handler caught, written after its span)
        "trace_id": getattr(record, "trace_id", None) or current_trace_id() or fault_trace_id(),
    }
    for name in FIELDS[1:]:  # a request's line has them all, null where not known
        if hasattr(record, name):
            body[name] = getattr(record, name)
    if record.exc_info and record.exc_info[1] is not None:
        body["exception"] = describe(record.exc_info[1])
    return body


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return orjson.dumps(_base(record), default=str).decode()


class ConsoleLines(logging.Formatter):
    """For a person at a terminal: time, level, logger, message, then key=value."""

    def format(self, record: logging.LogRecord) -> str:
        body = _base(record)
        head = f"{body.pop('time')} {body.pop('level').upper():<7} {body.pop('logger')}"
        text = f"{head}  {body.pop('message')}"
        exception = body.pop("exception", None)
        extras = " ".join(f"{k}={v}" for k, v in body.items() if v is not None)
        if extras:
            text = f"{text}  {extras}"
        return f"{text}\n{exception}" if exception else text


def resolve(fmt: str, stream: TextIO) -> str:
    """`auto`: readable lines when the stream is a terminal, JSON lines otherwise."""
    if fmt != "auto":
        return fmt
    return "console" if stream.isatty() else "json"


def configure(fmt: str, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every logger's lines (the app's, uvicorn's, the libraries') to one
    handler on the root logger, in the chosen form. Replaces handlers set before."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines() if resolve(fmt, stream) == "json" else ConsoleLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # pycasbin writes the whole policy at INFO on every load: the policy is the
    # secadmin's to read through the API, not every log reader's
    logging.getLogger("casbin").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers, if a config set them, would print plain lines beside ours
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
