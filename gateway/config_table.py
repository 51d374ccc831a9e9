"""Every setting the service reads, as data: one row per environment variable, and the
one way to read them.

`gateway/config.py` reads the environment only through `Environment`, which knows only
the names in this table, so a setting missing here cannot be read; validation errors
quote a row's accepted form, `dibao config` prints the rows in force, and the README's
table is rendered from them (`tests/test_config_table.py` fails when the README differs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str  # as an operator would write it; "" when unset means off or none
    form: str  # the accepted forms, quoted in errors: `NAME: "x" is not FORM`
    description: str
    secret: bool = False  # never printed in clear (a URL's password is masked)
    standard: bool = False  # an OTEL_* variable the OpenTelemetry SDK reads itself


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DIBAO_DATABASE_URL",
        "sqlite+aiosqlite:///./dibao.db",
        "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER[:PASSWORD]@HOST[:PORT]/DB",
        "The database. The default is an SQLite file in the working folder.",
        secret=True,
    ),
    Setting(
        "DIBAO_KEY_FILE",
        "./dibao-keys.json",
        "PATH",
        "Encryption, blind-index and audit keys; created mode 0600 on first run, "
        "refused when others can read it. Keep it apart from the database.",
    ),
    Setting(
        "DIBAO_CONNECT_TIMEOUT_S",
        "5",
        "SECONDS (more than 0, at most 300)",
        "Seconds to open a PostgreSQL connection before the request fails with 503 UNAVAILABLE.",
    ),
    Setting(
        "DIBAO_STATEMENT_TIMEOUT_MS",
        "30000",
        "MILLISECONDS (a whole number, at least 1)",
        "PostgreSQL statement timeout: a stuck query cannot hold a request for ever "
        "(`dibao db upgrade` and `dibao seed`, bulk work, run without it).",
    ),
    Setting(
        "DIBAO_FORWARDED_ALLOW_IPS",
        "",
        "ADDRESS-OR-NETWORK[,…]",
        "Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
        "(`dibao serve --forwarded-allow-ips` wins). None by default: the client is the "
        "connection's peer.",
    ),
    Setting(
        "DIBAO_CORS_ORIGINS",
        "",
        "ORIGIN[,…] (https://host[:port])",
        "Browser origins allowed to call the API. None by default.",
    ),
    Setting(
        "DIBAO_FAST_PATH",
        "1",
        "1 or 0 (also on/off, true/false, yes/no)",
        "The compiled read path for the two commonest reads; 0 leaves every request to "
        "the generic executor (same answers, slower).",
    ),
    Setting(
        "DIBAO_RATE_LIMITS",
        "partner=20/40,default=100/200,anonymous=1/10",
        "ROLE=RATE/BURST[,…]",
        "Requests per second and burst per credential, by role (`default`: roles not "
        "named; `anonymous`: per client address without a valid credential). Over it: "
        "429 RATE_LIMITED.",
    ),
    Setting(
        "DIBAO_LOOKUP_QUOTAS",
        "partner=30/2000,default=60/5000",
        "ROLE=PER-MINUTE/PER-DAY[,…]",
        "Lookups by ID number per credential per minute and per Beijing day, by role.",
    ),
    Setting(
        "DIBAO_MAX_TOKEN_DAYS",
        "partner=365,default=365",
        "ROLE=DAYS[,…] (1 to 3660)",
        "A credential's longest life, by role; `dibao token issue --ttl` past it is refused.",
    ),
    Setting(
        "DIBAO_REVIEW_PERIOD_DAYS",
        "90",
        "DAYS (a whole number, at least 1)",
        "Days after which a permission review (权限审查) is overdue.",
    ),
    Setting(
        "DIBAO_AUDIT_ANCHOR_FILE",
        "./dibao-audit-anchors.jsonl",
        "PATH or off",
        "Signed checkpoints of the audit chain kept outside the database (JSON Lines, "
        "mode 0600). Ship it to write-once storage.",
    ),
    Setting(
        "DIBAO_AUDIT_ANCHOR_SYSLOG",
        "off",
        "off, 1 (the host's syslog), a socket PATH or HOST[:PORT] (UDP)",
        "Send the same checkpoints to syslog.",
    ),
    Setting(
        "DIBAO_AUDIT_ANCHOR_EVERY",
        "1000",
        "ENTRIES (a whole number, at least 1)",
        "Write a checkpoint after this many audit entries.",
    ),
    Setting(
        "DIBAO_AUDIT_ANCHOR_SECONDS",
        "10",
        "SECONDS (more than 0)",
        "Write a checkpoint at least this often while entries are written.",
    ),
    Setting(
        "DIBAO_ALERT_SCAN_SECONDS",
        "60",
        "SECONDS (more than 0) or 0/off",
        "Seconds between scans of the audit log by the misuse rules (滥用告警); 0 is off.",
    ),
    Setting(
        "DIBAO_DOCUMENT_DIR",
        "",
        "PATH",
        "Directory for scanned documents' sealed bytes, one file per document. Unset: "
        "kept in the database.",
    ),
    Setting(
        "DIBAO_SERVE_WORKERS",
        "1",
        "PROCESSES (a whole number, at least 1)",
        "Set by `dibao serve --workers N` for its worker processes, not by hand: each "
        "worker takes 1/N of every rate limit and lookup quota.",
    ),
    Setting(
        "DIBAO_GRAPHIQL",
        "off",
        "on or off (1/0, true/false, yes/no)",
        "GraphiQL at GET /graphql outside demo mode, for development: served from the "
        "service's own files, it reads the committed SDL; introspection stays off.",
    ),
    Setting(
        "DIBAO_METRICS_TOKEN",
        "",
        "TOKEN (at least 24 characters, no spaces)",
        "The bearer token a Prometheus scraper sends to GET /metrics. Unset: /metrics "
        "answers only clients on this host (loopback).",
        secret=True,
    ),
    Setting(
        "DIBAO_LOG_FORMAT",
        "auto",
        "auto, json or console",
        "The server log: JSON lines (trace_id, principal, operation, outcome), readable "
        "lines, or auto: readable on a terminal, JSON otherwise.",
    ),
    Setting(
        "DIBAO_EXPORTS_PER_DAY",
        "50",
        "EXPORTS (a whole number, at least 1)",
        "Exports (requestExport) one principal may take in a Beijing day; over it 429 "
        "RATE_LIMITED until midnight. One export at a time per principal, two per server "
        "process.",
    ),
    Setting(
        "DIBAO_EXPORT_KEEP_DAYS",
        "7",
        "DAYS (a whole number, at least 1)",
        "Days a finished export's file can be downloaded; then GET /exports/{id} answers "
        "410 EXPORT_EXPIRED and the server (hourly, and at start) or `dibao export purge` "
        "deletes the file, audited. The register's row and SHA-256 stay.",
    ),
    Setting(
        "DIBAO_DOCUMENT_DAILY_MB",
        "2048",
        "MEGABYTES (a whole number, at least 1)",
        "Megabytes of scanned documents one principal may file in a Beijing day; over it an "
        "upload is 429 RATE_LIMITED until midnight.",
    ),
    Setting(
        "DIBAO_CALENDAR_FILE",
        "",
        "PATH of a CSV with day,kind,note",
        "A county's own working-day calendar (local holidays and moved working days) over "
        "the shipped one.",
    ),
    Setting(
        "DIBAO_CASE_DAYS",
        "30/45",
        "DECISION[/EXTENDED] (working days, EXTENDED not below DECISION)",
        "Working days from acceptance to the county's decision, and once extended.",
    ),
    Setting(
        "DIBAO_STAGE_LIMITS",
        "SUBMITTED=3,ACCEPTED=10,INVESTIGATED=5,TOWNSHIP_REVIEWED=3,NOTICE=10,"
        "APPROVED=5,REJECTED=3,TERMINATED=3",
        "STATUS=WORKING-DAYS[,…]",
        "Working days a case may stay in a stage before it is overdue (时效性); REJECTED "
        "and TERMINATED: days until the written notice. Names only the stages to change.",
    ),
    Setting(
        "DIBAO_ARCHIVE_AFTER_DAYS",
        "30",
        "DAYS (a whole number, at least 1)",
        "Days after which refused, withdrawn and terminated cases are archived (归档).",
    ),
    Setting(
        "DIBAO_REVIEW_MONTHS",
        "A=12,B=6,C=6",
        "CLASS=MONTHS[,…] (classes A, B, C; 1 to 24 months)",
        "Months between periodic checks per review class; a county's local scheme.",
    ),
    Setting(
        "DIBAO_GRADUAL_EXIT_MONTHS",
        "6",
        "MONTHS (a whole number, at least 1)",
        "Months a household whose income rose above the line keeps its benefit (渐退期).",
    ),
    Setting(
        "DIBAO_VERIFICATION_DAYS",
        "10",
        "WORKING-DAYS (a whole number, at least 1)",
        "Working days a partner department has to answer a verification request (核对).",
    ),
    Setting(
        "DIBAO_MARGINAL_MULTIPLE",
        "1.5",
        "A NUMBER from 1 to 3",
        "Edge families (低保边缘家庭): per-capita income under this multiple of the standard.",
    ),
    Setting(
        "DIBAO_ASSET_LIMITS",
        "DEPOSIT=20000,VEHICLE=30000,HOUSE=500000",
        "KIND=YUAN[,…] (DEPOSIT, VEHICLE, HOUSE, LAND, LIVESTOCK)",
        "Asset limits per kind over the defaults, yuan; land and livestock are not limited.",
    ),
    Setting(
        "DIBAO_COUNTY_ASSET_LIMITS",
        "",
        "COUNTY:KIND=YUAN[,…][;…] (6-digit county code)",
        "A county's own asset limits over DIBAO_ASSET_LIMITS.",
    ),
    # Standard variables: the OpenTelemetry SDK reads and checks them itself; the
    # service only notes whether an endpoint is set, to attach an exporter.
    Setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "URL",
        "Export traces over OTLP/HTTP; without it spans only feed X-Trace-Id and the audit.",
        standard=True,
    ),
    Setting(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "",
        "URL",
        "The same, for traces alone.",
        standard=True,
    ),
    Setting(
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "",
        "URL",
        "The same, for metrics alone (they are on /metrics for Prometheus either way).",
        standard=True,
    ),
    Setting(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "",
        "KEY=VALUE[,…]",
        "Headers sent to the collector (often a credential).",
        secret=True,
        standard=True,
    ),
    Setting(
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "",
        "PATH",
        "CA certificate for a collector on an intranet TLS endpoint.",
        standard=True,
    ),
    Setting(
        "OTEL_SERVICE_NAME",
        "dibao-archive-api",
        "NAME",
        "The service name on exported spans.",
        standard=True,
    ),
    Setting(
        "OTEL_RESOURCE_ATTRIBUTES",
        "",
        "KEY=VALUE[,…]",
        "Extra resource attributes on exported spans (e.g. deployment.environment).",
        standard=True,
    ),
    Setting(
        "OTEL_TRACES_SAMPLER",
        "parentbased_always_on",
        "a sampler name of the OpenTelemetry specification",
        "Which traces are kept; trace ids exist for every request whatever it says.",
        standard=True,
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
T = TypeVar("T")
PREFIX = "DIBAO_"
# variables of the test and benchmark harness, not of the service
HARNESS_PREFIXES = ("DIBAO_TEST_", "DIBAO_REQUIRE_", "DIBAO_BENCH_")


class ConfigError(ValueError):
    """A setting refused at start-up: its name, the value and the forms it accepts."""


class Environment:
    """The process environment, read only through the table of settings.

    A name missing from `gateway/config_table.py` cannot be read here, so every setting
    the service honours is documented, shown by `dibao config` and in the README."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def raw(self, name: str) -> str:
        if name not in BY_NAME:
            raise KeyError(f"{name} is read but missing from gateway/config_table.py")
        return self._environ.get(name, "")

    def given(self, name: str) -> bool:
        return bool(self.raw(name).strip())

    def parse(self, name: str, parse: Callable[[str], T]) -> T:
        text = self.raw(name)
        try:
            return parse(text)
        except ValueError as exc:
            raise ConfigError(refusal(name, text, str(exc))) from None


def refusal(name: str, text: str, detail: str = "") -> str:
    """`DIBAO_RATE_LIMITS: "x" is not ROLE=RATE/BURST[,…]`, then what the parser found
    wrong when it says more than the value; a secret is not quoted."""
    setting = BY_NAME[name]
    shown = "the value given" if setting.secret else f'"{text.strip()}"'
    detail = detail.removeprefix(f"{name}: ")
    # a parser's message that only repeats the value adds nothing to the accepted form,
    # and one that quotes a secret says too much
    repeats = detail.startswith(repr(text.strip())) or (setting.secret and text.strip() in detail)
    said = "" if not detail or repeats else f": {detail}"
    return f"{name}: {shown} is not {setting.form}{said}"


def unknown_names(names: list[str]) -> list[str]:
    """DIBAO_* variables that are no setting: most often a typo that silently does nothing."""
    return sorted(
        n
        for n in names
        if n.startswith(PREFIX) and n not in BY_NAME and not n.startswith(HARNESS_PREFIXES)
    )


def markdown_table() -> str:
    """The README's table of settings, rendered from SETTINGS."""
    lines = [
        "| variable | default | accepted form | what it does |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "none"
        note = ""
        if s.secret:  # a URL is shown without its password; any other secret not at all
            url = s.name.endswith("_URL")
            note = " `dibao config` masks its password." if url else " Secret: never shown."
        standard = " (standard OpenTelemetry variable)" if s.standard else ""
        lines.append(
            f"| `{s.name}` | {default} | {_cell(s.form)} | {_cell(s.description)}{standard}{note} |"
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
