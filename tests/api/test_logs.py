"""The server log's lines (gateway/logs.py): JSON or readable, the request's trace id
on every line written while it runs, and no value of a person even when a fault or a
library quotes one. A whole served run is scanned in test_observability_served.py."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.compiled import CompiledReads
from gateway.logs import ConsoleLines, JsonLines, resolve
from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import id_number, issue_token

NAME, PHONE = "张三丰", "13812345678"
HOUSEHOLDS = "query Households { households(first: 2) { totalCount } }"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the root logger writes, in JSON lines, during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.sqlite_only
async def test_a_fault_is_logged_under_the_request_trace_without_its_values(
    api: Api, runtime: Runtime, lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = id_number()
    # the frames are logged with their source lines: the values come from variables,
    # as a real fault's would
    message = f"no household for {NAME} {number} {PHONE}"

    async def broken(*_: Any, **__: Any) -> Any:
        raise ValueError(message)

    monkeypatch.setattr(CompiledReads, "execute", broken)
    worker = await issue_token(runtime, "caseworker", "220183100", principal="cw-logs")
    response = await api.post(worker, HOUSEHOLDS)
    assert response.status_code == 500
    trace = response.headers["x-trace-id"]
    found = parsed(lines)
    fault = next(line for line in found if line["logger"] == "dibao.gateway")
    request = next(line for line in found if line["logger"] == "dibao.request")
    assert fault["level"] == "error" and fault["trace_id"] == trace
    assert "ValueError (message withheld)" in fault["message"]
    assert request["trace_id"] == trace
    assert request["principal"] == "cw-logs" and request["outcome"] == "failed"
    assert request["operation"] is None  # never validated: the caller's name is not kept
    text = lines.getvalue()
    assert number not in text and NAME not in text and PHONE not in text


def test_a_library_quoting_a_number_has_its_digits_withheld(lines: io.StringIO) -> None:
    number = id_number()
    logging.getLogger("some.library").warning("rejected %s for 13812345678", number)
    account = "6222021234567890123"
    try:
        raise RuntimeError(f"account {account} of {number}")
    except RuntimeError:
        logging.getLogger("some.library").exception("failed")
    text = lines.getvalue()
    assert number not in text and number[:17] not in text
    assert "13812345678" not in text and "6222021234567890123" not in text
    [first, second] = parsed(lines)
    assert first["message"] == "rejected [digits withheld] for [digits withheld]"
    assert first["trace_id"] is None  # outside any request
    assert "RuntimeError (message withheld)" in second["exception"]


def test_console_lines_for_a_person_and_json_for_a_collector() -> None:
    record = logging.makeLogRecord(
        {
            "name": "dibao.request",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "request",
            "trace_id": "ab" * 16,
            "principal": "cw-1",
            "operation": "Households",
            "outcome": "allowed",
        }
    )
    line = ConsoleLines().format(record)
    assert "INFO" in line and "dibao.request" in line and not line.startswith("{")
    assert f"trace_id={'ab' * 16}" in line and "principal=cw-1" in line
    assert "outcome=allowed" in line
    body = json.loads(JsonLines().format(record))
    assert body["operation"] == "Households" and body["trace_id"] == "ab" * 16

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve("auto", Terminal()) == "console"
    assert resolve("auto", io.StringIO()) == "json"
    assert resolve("json", Terminal()) == "json"
