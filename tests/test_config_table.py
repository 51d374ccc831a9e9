"""One table of settings: every setting read is in it, in the README and in `dibao config`;
a bad value is refused at start-up with its name and the accepted forms."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from gateway.config import ConfigError, Settings, load_settings
from gateway.config_table import BY_NAME, HARNESS_PREFIXES, SETTINGS, markdown_table

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "schema", "resolvers", "policies", "audit", "store", "domain")
DIBAO = str(Path(sys.executable).parent / "dibao")
TABLE_BEGIN = "<!-- settings table: rendered from gateway/config_table.py -->"
TABLE_END = "<!-- end of the settings table -->"

# one refused value per setting; a setting any text is valid for is named in ANY_TEXT
BAD = {
    "DIBAO_EXPORTS_PER_DAY": "lots",
    "DIBAO_EXPORT_KEEP_DAYS": "0",
    "DIBAO_SERVE_WORKERS": "many",
    "DIBAO_GRAPHIQL": "sometimes",
    "DIBAO_METRICS_TOKEN": "short",
    "DIBAO_LOG_FORMAT": "xml",
    "DIBAO_DATABASE_URL": "mysql://root:hunter2@db/dibao",
    "DIBAO_CONNECT_TIMEOUT_S": "soon",
    "DIBAO_STATEMENT_TIMEOUT_MS": "0",
    "DIBAO_FORWARDED_ALLOW_IPS": "proxy.example",
    "DIBAO_CORS_ORIGINS": "example.org",
    "DIBAO_FAST_PATH": "maybe",
    "DIBAO_RATE_LIMITS": "x",
    "DIBAO_LOOKUP_QUOTAS": "partner=30",
    "DIBAO_MAX_TOKEN_DAYS": "partner=0",
    "DIBAO_REVIEW_PERIOD_DAYS": "quarterly",
    "DIBAO_AUDIT_ANCHOR_SYSLOG": "loghost:syslog",
    "DIBAO_AUDIT_ANCHOR_EVERY": "-1",
    "DIBAO_AUDIT_ANCHOR_SECONDS": "inf",
    "DIBAO_ALERT_SCAN_SECONDS": "-60",
    "DIBAO_DOCUMENT_DAILY_MB": "2GB",
    "DIBAO_CALENDAR_FILE": "/nonexistent/calendar.csv",
    "DIBAO_CASE_DAYS": "40/20",
    "DIBAO_STAGE_LIMITS": "WAITING=3",
    "DIBAO_ARCHIVE_AFTER_DAYS": "30d",
    "DIBAO_REVIEW_MONTHS": "A=36",
    "DIBAO_GRADUAL_EXIT_MONTHS": "0",
    "DIBAO_VERIFICATION_DAYS": "ten",
    "DIBAO_MARGINAL_MULTIPLE": "4",
    "DIBAO_ASSET_LIMITS": "GOLD=1",
    "DIBAO_COUNTY_ASSET_LIMITS": "2201:DEPOSIT=1",
}
ANY_TEXT = {"DIBAO_KEY_FILE", "DIBAO_DOCUMENT_DIR", "DIBAO_AUDIT_ANCHOR_FILE"}
OURS = [s for s in SETTINGS if not s.standard]


def _reads_in_config() -> set[str]:
    """The names gateway/config.py reads (every read goes through `env.<method>("NAME")`)."""
    tree = ast.parse((ROOT / "gateway" / "config.py").read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def _service_sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_environment_is_read_only_by_the_configuration_module() -> None:
    reads = re.compile(r"os\.environ\.get|os\.environ\[|getenv\(|envvar=")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _service_sources()
        if path != ROOT / "gateway" / "config.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reads.search(line)
    ]
    assert offenders == [], "read settings in gateway/config.py, through the table"


def test_every_setting_read_is_in_the_table_and_every_row_is_read() -> None:
    reads = _reads_in_config()
    assert reads - BY_NAME.keys() == set(), "read but missing from gateway/config_table.py"
    assert {s.name for s in OURS} - reads == set(), "in the table but never read"


def test_every_setting_the_code_names_is_in_the_table() -> None:
    named = {
        name
        for path in _service_sources()
        for name in re.findall(r"\bDIBAO_[A-Z0-9_]+\b", path.read_text(encoding="utf-8"))
        if not name.startswith(HARNESS_PREFIXES)
    }
    assert named - BY_NAME.keys() == set()


def test_the_readme_table_is_the_rendered_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert TABLE_BEGIN in readme and TABLE_END in readme
    shown = readme.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0].strip()
    assert shown == markdown_table(), "run `make docs` to render the README's table"
    for setting in SETTINGS:
        assert f"| `{setting.name}` |" in readme


def test_the_table_states_the_defaults_the_code_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    unset = load_settings(environ={})
    spelled = load_settings(environ={s.name: s.default for s in OURS if s.default})
    paths = {"database_url", "key_file", "anchor_file", "calendar"}
    for field in dataclasses.fields(Settings):
        if field.name not in paths:
            assert getattr(spelled, field.name) == getattr(unset, field.name), field.name
    assert spelled.key_file.resolve() == unset.key_file.resolve()
    assert spelled.anchor_file is not None and unset.anchor_file is not None
    assert spelled.anchor_file.resolve() == unset.anchor_file.resolve()
    assert Path(spelled.database_url.split("///", 1)[1]).resolve() == Path(
        unset.database_url.split("///", 1)[1]
    )


def test_every_setting_has_a_refused_example_or_takes_any_text() -> None:
    assert set(BAD) | ANY_TEXT == {s.name for s in OURS}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_is_refused_with_its_name_and_the_accepted_forms(name: str) -> None:
    value = BAD[name]
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={name: value})
    message = str(refused.value)
    setting = BY_NAME[name]
    shown = "the value given" if setting.secret else f'"{value}"'
    assert message.startswith(f"{name}: {shown} is not {setting.form}")
    if setting.secret:
        assert value not in message and "hunter2" not in message


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_command_refuses_a_bad_setting_on_one_plain_line(name: str) -> None:
    """What an operator sees: the refusal as one line (forms like `[/EXTENDED]` are no
    markup), exit status 2, no traceback, and no secret."""
    from typer.testing import CliRunner

    from gateway.cli import app

    result = CliRunner().invoke(app, ["token", "list"], env={name: BAD[name]})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    setting = BY_NAME[name]
    shown = "the value given" if setting.secret else f'"{BAD[name]}"'
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {name}: {shown} is not {setting.form}")
    assert "Traceback" not in result.output and "hunter2" not in result.output


def _dibao(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DIBAO_", "OTEL_"))}
    return subprocess.run(
        [DIBAO, *args],
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_a_bad_setting_plainly(tmp_path: Path) -> None:
    result = _dibao(
        "serve", "--port", "0", DIBAO_RATE_LIMITS="x", DIBAO_RATE_LIMT="1/1", HOME=str(tmp_path)
    )
    assert result.returncode == 2
    assert 'DIBAO_RATE_LIMITS: "x" is not ROLE=RATE/BURST[,…]' in result.stderr
    assert "DIBAO_RATE_LIMT is not a setting" in result.stderr  # a typo is named
    assert "Traceback" not in result.stderr + result.stdout


def test_serve_refuses_a_bad_forwarded_allow_ips_option() -> None:
    result = _dibao("serve", "--forwarded-allow-ips", "*")
    assert result.returncode == 2
    assert '--forwarded-allow-ips: "*" is not ADDRESS-OR-NETWORK' in result.stderr


def test_config_shows_what_is_in_force_with_secrets_hidden(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"never": "printed-key-material"}')
    result = _dibao(
        "config",
        "--json",
        DIBAO_DATABASE_URL="postgresql+asyncpg://dibao:s3cret-pw@db.intranet:5432/dibao",
        DIBAO_KEY_FILE=str(keys),
        DIBAO_RATE_LIMITS="partner=5/10",
        DIBAO_RATE_LIMT="1/1",
        OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer collector-token",
    )
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    rows = {row["name"]: row for row in body["settings"]}
    assert [row["name"] for row in body["settings"]] == [s.name for s in SETTINGS]
    assert rows["DIBAO_RATE_LIMITS"] == {
        "name": "DIBAO_RATE_LIMITS",
        "value": "partner=5/10",
        "source": "environment",
    }
    assert rows["DIBAO_FAST_PATH"] == {"name": "DIBAO_FAST_PATH", "value": "1", "source": "default"}
    assert rows["DIBAO_DATABASE_URL"]["value"] == (
        "postgresql+asyncpg://dibao:***@db.intranet:5432/dibao"
    )
    assert rows["DIBAO_KEY_FILE"]["value"] == str(keys)
    assert rows["OTEL_EXPORTER_OTLP_HEADERS"]["value"] == "(hidden)"
    assert body["unknown"] == ["DIBAO_RATE_LIMT"]
    assert body["error"] is None
    for secret in ("s3cret-pw", "printed-key-material", "collector-token"):
        assert secret not in result.stdout + result.stderr


def test_config_prints_a_table_for_people_and_fails_on_a_bad_setting() -> None:
    origins = "https://console.intranet,http://[fd00::1]:8080"
    shown = _dibao("config", DIBAO_CORS_ORIGINS=origins)
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if "DIBAO_CORS_ORIGINS" in x)
    assert origins in line and "environment" in line
    assert "DIBAO_STAGE_LIMITS" in shown.stdout
    refused = _dibao("config", "--json", DIBAO_FAST_PATH="maybe")
    assert refused.returncode == 2
    assert orjson.loads(refused.stdout)["error"].startswith('DIBAO_FAST_PATH: "maybe" is not 1')
    assert "Traceback" not in refused.stderr


def test_the_sdk_reads_the_standard_variables_and_the_service_only_notes_an_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway.tracing import SERVICE_NAME, provider_from_env

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert provider_from_env(export=False).resource.attributes["service.name"] == SERVICE_NAME
    monkeypatch.setenv("OTEL_SERVICE_NAME", "dibao-220183")
    assert provider_from_env(export=False).resource.attributes["service.name"] == "dibao-220183"
    assert not load_settings(environ={}).otlp_export
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.intranet:4318"}
    assert load_settings(environ=endpoint).otlp_export


def test_a_password_with_an_unescaped_at_is_refused_and_not_shown() -> None:
    # the URL splits at the first @: "S3cret@Pass" would leave "Pass@h" as the host, and
    # the password's tail would show wherever the host is shown
    url = "postgresql+asyncpg://u:S3cret@Pass@h/db"
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"DIBAO_DATABASE_URL": url})
    message = str(refused.value)
    assert "%40" in message and "Pass" not in message and "S3cret" not in message
    escaped = "postgresql+asyncpg://u:S3cret%40Pass@h/db"
    assert load_settings(environ={"DIBAO_DATABASE_URL": escaped}).database_url == escaped
