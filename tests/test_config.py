"""Configuration from the environment: stage limits and the archiving period."""

from __future__ import annotations

import pytest

from gateway.config import load_settings, parse_stage_limits


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
    with pytest.raises(ValueError, match="seconds"):
        load_settings()
