"""Configuration from the environment: stage limits and the archiving period."""

from __future__ import annotations

import pytest

from gateway.config import load_settings, parse_review_months, parse_stage_limits


def test_stage_limits_override_defaults() -> None:
    limits = parse_stage_limits("SUBMITTED=5, NOTICE=20")
    assert limits["SUBMITTED"] == 5
    assert limits["NOTICE"] == 20
    assert limits["ACCEPTED"] == 10  # untouched default
    with pytest.raises(ValueError, match="unknown stage"):
        parse_stage_limits("WAITING=3")
    with pytest.raises(ValueError, match="positive"):
        parse_stage_limits("SUBMITTED=0")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIBAO_ARCHIVE_AFTER_DAYS", "90")
    monkeypatch.setenv("DIBAO_STAGE_LIMITS", "ACCEPTED=12")
    monkeypatch.setenv("DIBAO_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = load_settings()
    assert settings.archive_after_days == 90
    assert settings.stage_limits["ACCEPTED"] == 12
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_anchor_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIBAO_AUDIT_ANCHOR_FILE")
    defaults = load_settings()
    assert defaults.anchor_file is not None
    assert defaults.anchor_file.name == "dibao-audit-anchors.jsonl"
    assert defaults.anchor_syslog is None
    assert (defaults.anchor_every, defaults.anchor_seconds) == (1000, 10.0)
    monkeypatch.setenv("DIBAO_AUDIT_ANCHOR_FILE", "off")
    monkeypatch.setenv("DIBAO_AUDIT_ANCHOR_SYSLOG", "1")
    monkeypatch.setenv("DIBAO_AUDIT_ANCHOR_EVERY", "50")
    monkeypatch.setenv("DIBAO_AUDIT_ANCHOR_SECONDS", "2.5")
    settings = load_settings()
    assert settings.anchor_file is None
    assert settings.anchor_syslog == "local"
    assert (settings.anchor_every, settings.anchor_seconds) == (50, 2.5)
    monkeypatch.setenv("DIBAO_AUDIT_ANCHOR_SECONDS", "0")
    with pytest.raises(ValueError, match=r"^DIBAO_AUDIT_ANCHOR_SECONDS: \"0\" is not SECONDS"):
        load_settings()


def test_review_intervals_default_to_57hao_and_take_a_local_scheme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse_review_months("") == {"A": 12, "B": 6, "C": 6}
    assert parse_review_months("C=3") == {"A": 12, "B": 6, "C": 3}
    for bad in ("D=3", "A=0", "A=x", "A=36"):
        with pytest.raises(ValueError, match=r"months|class"):
            parse_review_months(bad)
    monkeypatch.setenv("DIBAO_REVIEW_MONTHS", "A=12,B=6,C=3")
    monkeypatch.setenv("DIBAO_GRADUAL_EXIT_MONTHS", "3")
    settings = load_settings()
    assert settings.review_months == {"A": 12, "B": 6, "C": 3}
    assert settings.gradual_exit_months == 3
    monkeypatch.setenv("DIBAO_GRADUAL_EXIT_MONTHS", "0")
    with pytest.raises(ValueError, match=r"^DIBAO_GRADUAL_EXIT_MONTHS: \"0\" is not MONTHS"):
        load_settings()


@pytest.mark.parametrize(
    ("value", "compiled"), [(None, True), ("1", True), ("0", False), ("off", False)]
)
def test_fast_path_is_switched_off_by_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, compiled: bool
) -> None:
    """`DIBAO_FAST_PATH=0` leaves every read to the generic executor (README, "The compiled
    read path"); that executor answering alike is `tests/api/test_compiled_path.py`."""
    if value is None:
        monkeypatch.delenv("DIBAO_FAST_PATH", raising=False)
    else:
        monkeypatch.setenv("DIBAO_FAST_PATH", value)
    assert load_settings().fast_path is compiled
