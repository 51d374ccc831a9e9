"""`dibao token issue` checks what it is given before a credential exists: the
principal's length, the lifetime and its unit, the field list's form, a department
for a partner only, the role's longest lifetime; and what it prints: a token of 256
random bits, a credential id of 16 hex digits. Run in this process by typer's
runner: the command as an operator types it, without an interpreter started for
each of the many cases (tests/cli/test_cli.py runs it as a process)."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from click.testing import Result
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings

# the command's summary line: `credential ID for P (ROLE, region R) expires … UTC`
ISSUED = re.compile(r"credential (\S+) for .* expires (\d{4}-\d\d-\d\d \d\d:\d\d) UTC")


def issue(settings: Settings, *args: str, role: str = "caseworker") -> Result:
    options = {"--principal": "issued", "--role": role, "--region": "22"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [part for pair in {**options, **given}.items() for part in pair]
    env = {
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, ["token", "issue", *argv], env=env)


def assert_issued(result: Result) -> tuple[str, dt.datetime, str]:
    """(credential id, expiry to the minute, token) of a command that succeeded."""
    assert result.exit_code == 0, result.output
    found = ISSUED.search(result.stdout)
    assert found is not None, result.stdout
    expires = dt.datetime.strptime(found.group(2), "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    return found.group(1), expires, result.stdout.strip().splitlines()[-1]


def assert_refused(result: Result, field: str) -> None:
    """Refused plainly (exit 2, the value named), never with a traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "BAD_USER_INPUT" in result.output, result.output
    assert field in result.output
    assert "Traceback" not in result.output


def test_a_token_carries_256_random_bits_and_its_id_is_16_hex_digits(
    settings: Settings,
) -> None:
    # 16: every column that names a credential (credentials.id, the audit entry's
    # credential_id, the usage rows) holds 16 characters, and PostgreSQL refuses more
    seen = set()
    for _ in range(2):
        credential_id, _, token = assert_issued(issue(settings))
        assert re.fullmatch(r"[0-9a-f]{16}", credential_id), credential_id
        assert token.startswith("dibao_")
        body = token.removeprefix("dibao_")
        assert len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == 32
        seen.add(token)
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("ttl", "lifetime"),
    [
        ("45m", dt.timedelta(minutes=45)),
        ("12h", dt.timedelta(hours=12)),
        ("30d", dt.timedelta(days=30)),
        ("1d", dt.timedelta(days=1)),
    ],
)
def test_a_lifetime_is_counted_in_its_unit(
    settings: Settings, ttl: str, lifetime: dt.timedelta
) -> None:
    before = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    _, expires, _ = assert_issued(issue(settings, "--ttl", ttl))
    after = dt.datetime.now(dt.UTC)
    assert before + lifetime <= expires <= after + lifetime


@pytest.mark.parametrize("ttl", ["0d", "0m", "forever", "30", "d", "-1d", "30w"])
def test_a_lifetime_of_zero_or_without_its_unit_is_refused(settings: Settings, ttl: str) -> None:
    assert_refused(issue(settings, "--ttl", ttl), "ttl")


def test_a_lifetime_beyond_the_roles_longest_is_refused(settings: Settings) -> None:
    # DIBAO_MAX_TOKEN_DAYS, 365 days by default for every role
    assert_refused(issue(settings, "--ttl", "366d"), "365 days")
    assert_issued(issue(settings, "--ttl", "365d"))


def test_a_principal_is_1_to_100_characters(settings: Settings) -> None:
    # principal is a 100-character column
    assert_issued(issue(settings, "--principal", "p" * 100))
    assert_issued(issue(settings, "--principal", "p"))
    for principal in ("", "   ", "p" * 101):
        assert_refused(issue(settings, "--principal", principal), "principal")


def test_a_field_list_names_type_dot_field(settings: Settings) -> None:
    fields = "Query.verifyRecipient, RecipientCheck.isRecipient,Query.verifyRecipient"
    assert_issued(issue(settings, "--fields", fields))
    for bad in ("verifyRecipient", "query.verifyRecipient", "Query.VerifyRecipient", "Query."):
        assert_refused(issue(settings, "--fields", f"Query.households,{bad}"), "fields")


def test_a_department_is_for_a_partner_credential_only(settings: Settings) -> None:
    assert_issued(issue(settings, "--department", "TAX", role="partner"))
    assert_issued(issue(settings, role="partner"))
    assert_refused(issue(settings, "--department", "TAX"), "department")
    assert_refused(issue(settings, "--department", "NO_SUCH", role="partner"), "department")


def test_an_unknown_role_is_refused_naming_the_roles(settings: Settings) -> None:
    result = issue(settings, role="root")
    assert_refused(result, "role")
    assert "caseworker" in result.output
