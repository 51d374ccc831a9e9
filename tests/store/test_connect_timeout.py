"""The connection timeout is a setting: a bad value falls back to the default."""

from __future__ import annotations

import pytest

from store.db import DEFAULT_CONNECT_TIMEOUT_S, connect_timeout_s


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12.0),
        ("0.5", 0.5),
        ("", DEFAULT_CONNECT_TIMEOUT_S),
        ("soon", DEFAULT_CONNECT_TIMEOUT_S),
        ("0", DEFAULT_CONNECT_TIMEOUT_S),
        ("-3", DEFAULT_CONNECT_TIMEOUT_S),
        ("nan", DEFAULT_CONNECT_TIMEOUT_S),
        ("301", DEFAULT_CONNECT_TIMEOUT_S),
    ],
)
def test_connect_timeout_reads_the_environment(
    value: str, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIBAO_CONNECT_TIMEOUT_S", value)
    assert connect_timeout_s() == expected
