"""The connection timeout is a setting: read and checked at start-up, refused when bad."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings
from store.db import DEFAULT_CONNECT_TIMEOUT_S


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12.0), ("0.5", 0.5), ("", DEFAULT_CONNECT_TIMEOUT_S)]
)
def test_connect_timeout_reads_the_environment(value: str, expected: float) -> None:
    settings = load_settings(environ={"DIBAO_CONNECT_TIMEOUT_S": value})
    assert settings.connect_timeout_s == expected


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "301"])
def test_a_bad_connect_timeout_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^DIBAO_CONNECT_TIMEOUT_S: .* is not SECONDS"):
        load_settings(environ={"DIBAO_CONNECT_TIMEOUT_S": value})
