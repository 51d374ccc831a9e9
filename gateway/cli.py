"""The `dibao` command (names and options fixed by the SPEC)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import func, select

from audit.chain import Verification, purge, retention_days, verify
from audit.queries import AuditFilter, stream_entries
from domain.calendar import UnknownYear, beijing_day
from domain.enums import Role
from domain.errors import DomainError
from domain.review import MAX_UNUSED_DAYS
from gateway.cli_exports import export_app
from gateway.config import Settings, check_calendar, load_settings, parse_networks
from gateway.config_table import BY_NAME, unknown_names
from gateway.documents import split_operations, store_documents
from gateway.persisted import ManifestEntry, read_manifest, store_manifest
from gateway.runtime import Runtime
from gateway.settings_report import config_command, refuse, warn
from gateway.tls import certificate_fingerprint
from policies.engine import default_rules
from store import credentials as creds
from store import review
from store.crypto import KeyFileError
from store.models import AuditHead, AuditRetention, Household
from store.types import utcnow

T = TypeVar("T")

app = typer.Typer(
    help="Dibao Archive API: GraphQL over dibao archives, behind an access gateway.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer credentials.", no_args_is_help=True)
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="Encryption, index and audit keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
import_app = typer.Typer(help="Bulk import of legacy registers.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

DEMO_HOUSEHOLDS = 240
DEMO_SEED = 2026
DEMO_SCOPES = {
    Role.CASEWORKER: "220183100",
    Role.COUNTY_REVIEWER: "220183",
    Role.FINANCE_OFFICER: "220183",
    Role.SUPERVISOR: "22",
    Role.PARTNER: "*",
    Role.AUDITOR: "*",
    Role.SECADMIN: "*",
    Role.SYSADMIN: "*",
}


def _settings() -> Settings:
    """Every command checks the whole configuration first, and stops plainly on a bad value."""
    try:
        return load_settings()
    except ValueError as exc:
        refuse(err, str(exc))
        raise typer.Exit(2) from None


app.command("config")(config_command)


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        runtime = Runtime.from_settings(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(2) from None
    except KeyFileError as exc:
        err.print(f"[red]error[/red] (KEY_FILE): {exc}")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""

    async def work(runtime: Runtime) -> None:
        await _upgrade(runtime)

    _run(_settings(), work)
    err.print("database is at the newest schema")


def _progress(label: str) -> Progress:
    """The progress bar of long commands (seeding, re-encryption), on stderr."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


async def _seed(
    runtime: Runtime, households: int, seed: int, regions: Literal["demo", "national"] = "demo"
) -> None:
    from store.seed import seed as run_seed

    with _progress("seeding households") as progress:
        task = progress.add_task("seed", total=households)
        report = await run_seed(
            runtime.engine,
            runtime.cipher,
            households=households,
            seed=seed,
            progress=lambda done: progress.update(task, completed=done),
            regions=regions,
        )
    err.print(
        f"seeded {report.households} households, {report.members} members, "
        f"{report.payments} payments in {report.seconds:.1f} s"
    )


@keys_app.command("rotate")
def keys_rotate(
    settle: Annotated[
        float,
        typer.Option(help="Seconds for running servers to take up the new keys before rewriting."),
    ] = 3.0,
) -> None:
    """New current data, index and audit keys; then re-encrypt and re-index old rows.

    Runs while the service serves: servers reload the key file within a second;
    rows are rewritten in batches, each only if unchanged meanwhile. Run it again
    to resume after an interruption. Old keys stay in the file (old audit entries
    and backups need them).
    """
    from store.crypto import rotate_key_file
    from store.rekey import count_rows, rekey

    settings = _settings()
    try:
        ring = rotate_key_file(settings.key_file)
    except KeyFileError as exc:
        err.print(f"[red]error[/red] (KEY_FILE): {exc}")
        raise typer.Exit(2) from None
    err.print(f"key version {ring.current_version} is current; waiting {settle:g} s for servers")
    time.sleep(max(0.0, settle))

    async def work(runtime: Runtime) -> Any:
        total = await count_rows(runtime.engine)
        with _progress("re-encrypting") as progress:
            task = progress.add_task("rekey", total=total)
            return await rekey(
                runtime.engine,
                runtime.cipher,
                progress=lambda n: progress.advance(task, n),
            )

    report = _run(settings, work)
    rewritten = sum(report.rows_rewritten.values())
    out.print(
        f"key version {report.version}: {rewritten} rows rewritten of "
        f"{sum(report.rows_seen.values())}, {report.claims_added} ID claims re-indexed, "
        f"{report.rows_skipped} changed meanwhile (already current)"
    )


@app.command()
def seed(
    households: Annotated[int, typer.Option(min=1, max=10_000_000, help="How many households.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 0,
    regions: Annotated[
        str,
        typer.Option(
            help="national: the generated national tree at real caseloads (whole counties, "
            "a few hundred to a few thousand households a township); demo: the demo's "
            "small tree (9 counties)."
        ),
    ] = "national",
) -> None:
    """Add deterministic synthetic households (valid ID numbers, real region structure)."""
    if regions not in ("national", "demo"):
        raise typer.BadParameter("national or demo", param_hint="--regions")
    tree: Literal["demo", "national"] = "national" if regions == "national" else "demo"

    async def work(runtime: Runtime) -> None:
        await _upgrade(runtime)
        await _seed(runtime, households, seed, tree)

    _run(_settings(), work)


@token_app.command("issue")
def token_issue(
    principal: Annotated[str, typer.Option(help="Who the credential is for.")],
    role: Annotated[str, typer.Option(help="One of: " + ", ".join(r.value for r in Role))],
    region: Annotated[
        str, typer.Option(help="Region scope: 2/4/6/9/12 digits, or * for national.")
    ],
    ttl: Annotated[str, typer.Option(help="Lifetime, e.g. 30d, 12h, 45m.")] = "30d",
    fields: Annotated[
        str | None,
        typer.Option(help="Field allow-list, comma separated Type.field (narrows policy)."),
    ] = None,
    documents: Annotated[
        Path | None,
        typer.Option(
            help="Approved operations, the only ones it may send: a .graphql file, or a "
            ".json manifest of hash to document (as GraphQL codegen and Relay write them)."
        ),
    ] = None,
    client_cert: Annotated[
        Path | None,
        typer.Option(help="PEM client certificate the token is bound to (serve --client-ca)."),
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(help="A partner's department, whose verification requests it answers."),
    ] = None,
) -> None:
    """Print a new bearer token once, alone on the last line of stdout."""
    documents_text = _read(documents) if documents is not None else None
    cert_text = _read(client_cert) if client_cert is not None else None

    async def work(runtime: Runtime) -> tuple[str, str, dt.datetime]:
        manifest: list[ManifestEntry] | None = None
        approved: list[str] | None = None
        if documents_text is not None and documents is not None:
            if documents.suffix.lower() == ".json":
                manifest = read_manifest(documents_text)
            else:
                approved = split_operations(documents_text)
        fingerprint = certificate_fingerprint(cert_text) if cert_text is not None else None
        async with runtime.sessions.begin() as session:
            credential, token = await creds.issue_credential(
                session,
                principal=principal,
                role=role,
                region=region,
                ttl=creds.parse_ttl(ttl),
                fields=fields.split(",") if fields is not None else None,
                department=department,
                now=utcnow(),
                max_days=runtime.settings.max_token_days,
            )
            if approved is not None:
                credential.documents = await store_documents(session, approved)
            if manifest is not None:
                credential.documents = await store_manifest(session, manifest)
            credential.cert_fingerprint = fingerprint
            return credential.id, token, credential.expires_at

    credential_id, token, expires = _run(_settings(), work)
    bound = [" to approved documents"] if documents_text else []
    bound += [" to a client certificate"] if cert_text else []
    out.print(
        f"credential {credential_id} for {principal} ({role}, region {region}) "
        f"expires {expires:%Y-%m-%d %H:%M} UTC" + (", bound" + " and".join(bound) if bound else "")
    )
    sys.stdout.flush()
    print(token)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error[/red]: cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None


@token_app.command("list")
def token_list(
    unused_days: Annotated[
        int | None,
        typer.Option(
            help="Only live credentials with no audited request in N days (the permission "
            "review's rule, `permissionReview(unusedDays:)`).",
            min=1,
            max=MAX_UNUSED_DAYS,
        ),
    ] = None,
) -> None:
    """List credentials (never their tokens), with their last use from the audit log."""

    async def work(runtime: Runtime) -> list[tuple[str, ...]]:
        async with runtime.sessions() as session:
            now = utcnow()
            rows = (
                await creds.list_credentials(session)
                if unused_days is None
                else await review.unused_credentials(session, now=now, days=unused_days)
            )
            usage = await review.credential_usage(session, ids=[c.id for c in rows], now=now)

            def last_used(credential_id: str) -> str:
                found = usage.get(credential_id)
                at = found.last_used_at if found else None
                return f"{at:%Y-%m-%d %H:%M}" if at else "never"

            return [
                (
                    c.id,
                    c.principal,
                    c.role,
                    c.region_scope or "*",
                    ",".join(c.fields) if c.fields is not None else "(role policy)",
                    f"{c.expires_at:%Y-%m-%d %H:%M}",
                    "revoked" if c.revoked_at else ("expired" if c.expires_at <= now else "active"),
                    last_used(c.id),
                )
                for c in rows
            ]

    table = Table(
        "id", "principal", "role", "region", "fields", "expires (UTC)", "state", "last used (UTC)"
    )
    for row in _run(_settings(), work):
        table.add_row(*row)
    out.print(table)


@token_app.command("revoke")
def token_revoke(credential_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke a credential; it stops working on the next request."""

    async def work(runtime: Runtime) -> None:
        async with runtime.sessions.begin() as session:
            await creds.revoke_credential(session, credential_id=credential_id, now=utcnow())

    _run(_settings(), work)
    out.print(f"credential {credential_id} revoked")


@audit_app.command("verify")
def audit_verify(
    allow_unanchored: Annotated[
        bool,
        typer.Option(
            help="Accept an empty log without anchors although the database holds older "
            "credentials, households or policy changes (an installation that never served)."
        ),
    ] = False,
) -> None:
    """Exit 0 when the audit log is intact; otherwise name the first broken entry.

    Entries anchored outside the database (DIBAO_AUDIT_ANCHOR_FILE) must still be
    in the chain; an intact log's head is anchored in turn."""
    settings = _settings()

    async def work(runtime: Runtime) -> Verification:
        async with runtime.sessions() as session:
            result = await verify(
                session,
                runtime.cipher.keys,
                anchor_file=settings.anchor_file,
                allow_unanchored=allow_unanchored,
            )
        if result.ok and result.head is not None:
            runtime.anchors.anchor(*result.head)
        return result

    result = _run(settings, work)
    anchored = f" (anchor file: {settings.anchor_file})" if settings.anchor_file else ""
    if result.warning:
        err.print(f"[yellow]warning[/yellow]: {result.warning}{anchored}")
    if result.ok:
        out.print(f"audit log intact: {result.entries} entries")
        return
    where = f" at entry {result.first_bad}" if result.first_bad is not None else ""
    err.print(f"[red]audit log broken[/red]{where}: {result.reason}{anchored}")
    raise typer.Exit(1)


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        err.print(f"[red]error[/red]: --{name} is not an ISO 8601 time")
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@audit_app.command("export")
def audit_export(
    since: Annotated[
        str | None, typer.Option(help="ISO 8601 time, inclusive (UTC if no zone).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="ISO 8601 time, exclusive (UTC if no zone).")
    ] = None,
) -> None:
    """Write audit entries as JSON Lines on stdout, oldest first, with seq and hashes."""
    flt = AuditFilter(since=_when(since, "since"), until=_when(until, "until"))

    async def work(runtime: Runtime) -> int:
        count = 0
        async with runtime.sessions() as session:
            async for row in stream_entries(session, flt=flt):
                line = {
                    "seq": row.seq,
                    **orjson.loads(row.entry),
                    "prev_hash": row.prev_hash,
                    "hash": row.hash,
                }
                sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
                count += 1
        sys.stdout.flush()
        return count

    exported = _run(_settings(), work)
    err.print(f"exported {exported} entries")


@audit_app.command("purge")
def audit_purge() -> None:
    """Delete entries older than the retention window (the chain stays verifiable)."""

    async def work(runtime: Runtime) -> int:
        async with runtime.sessions.begin() as session:
            removed = await purge(session, runtime.cipher.keys, now=utcnow())
        async with runtime.sessions() as session:  # committed: anchor where the chain now is
            head = (await session.execute(select(AuditHead.seq, AuditHead.hash))).one()
        runtime.anchors.anchor(int(head.seq), str(head.hash))
        return removed

    removed = _run(_settings(), work)
    out.print(f"purged {removed} entries older than the retention window")


@audit_app.command("retention")
def audit_retention(
    days: Annotated[
        int | None,
        typer.Option(
            min=183, help="Keep entries this many days (at least 183: six months by law)."
        ),
    ] = None,
) -> None:
    """Show the retention window, or lengthen it with --days."""

    async def work(runtime: Runtime) -> int:
        async with runtime.sessions.begin() as session:
            row = await session.get(AuditRetention, 1)
            assert row is not None
            if days is not None:
                row.days = days
                return row.days
            return await retention_days(session)  # below the minimum: refused as tampering

    out.print(f"audit entries are kept {_run(_settings(), work)} days")


async def _upgrade(runtime: Runtime) -> None:
    """Migrate to the newest schema. Alembic (with Mako) is imported here, not at the
    top: every command paid for its import at start-up, and only four migrate."""
    from store.migrate import upgrade

    await upgrade(runtime.engine, shipped_rules=default_rules())


async def _prepare_demo(runtime: Runtime) -> list[tuple[str, str, str]]:
    await _upgrade(runtime)
    async with runtime.sessions() as session:
        existing = await session.scalar(select(func.count()).select_from(Household))
    if not existing:
        await _seed(runtime, DEMO_HOUSEHOLDS, DEMO_SEED)
    tokens = []
    async with runtime.sessions.begin() as session:
        for role, scope in DEMO_SCOPES.items():
            _, token = await creds.issue_credential(
                session,
                principal=f"demo-{role.value}",
                role=role.value,
                region=scope,
                ttl=dt.timedelta(days=1),
                now=utcnow(),
                max_days=runtime.settings.max_token_days,
            )
            tokens.append((role.value, scope, token))
    return tokens


@app.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Embedded database with demo data, GraphiQL on, demo tokens.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate: serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key for --tls-cert.")] = None,
    client_ca: Annotated[
        Path | None,
        typer.Option(help="CA for client certificates (requested, verified when sent)."),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Reverse proxies (comma-separated addresses or networks) whose "
            "X-Forwarded-For and X-Forwarded-Proto are believed (over "
            "DIBAO_FORWARDED_ALLOW_IPS). Without either, those headers are ignored: the "
            "client is the connection's peer.",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes on the one socket. Rate limits and lookup quotas are "
            "counted per process, so each gets 1/N of them (gateway/workers.py).",
        ),
    ] = 1,
) -> None:
    """Serve GraphQL at http://HOST:PORT/graphql (https with --tls-cert)."""
    if (tls_cert is None) != (tls_key is None) or (client_ca is not None and tls_cert is None):
        err.print("[red]error[/red]: --tls-cert and --tls-key go together; --client-ca needs both")
        raise typer.Exit(2)
    if workers > 1 and demo:
        err.print("[red]error[/red]: --demo serves one process; leave out --workers")
        raise typer.Exit(2)
    import uvicorn

    from gateway import logs
    from gateway.app import create_app
    from gateway.tls import CertificateAwareH11
    from gateway.workers import WORKERS_ENV, ready

    for name in unknown_names(list(os.environ)):  # a typo would otherwise do nothing, silently
        warn(err, f"{name} is not a setting (`dibao config`)")
    try:
        settings = load_settings(demo=demo)
        if forwarded_allow_ips is not None:  # the option is held to the setting's form
            try:
                parse_networks(forwarded_allow_ips)
            except ValueError:
                raise ValueError(
                    f'--forwarded-allow-ips: "{forwarded_allow_ips}" is not '
                    f"{BY_NAME['DIBAO_FORWARDED_ALLOW_IPS'].form}"
                ) from None
        warnings = check_calendar(settings, beijing_day(utcnow()))
    except (ValueError, UnknownYear) as exc:  # a configuration error stops the start, plainly
        refuse(err, str(exc))
        raise typer.Exit(2) from None
    # from here on every line is a log line in one form (JSON, or readable on a terminal)
    logs.configure(settings.log_format)
    for warning in warnings:
        logging.getLogger("dibao.serve").warning(warning)
    if demo:
        tokens = _run(settings, _prepare_demo)
        out.print("demo tokens, valid 1 day (role, region scope, bearer token):")
        for role, scope, token in tokens:
            out.print(f"  {role:<16} {scope:<10} {token}")
        out.print(
            "  (the partner token answers verifyRecipient only; a partner reads more with"
            " `dibao token issue --role partner --fields Query.households,Household.status,...`)"
        )
        out.print(
            f"GraphiQL: http://{host}:{port}/graphql  (set header Authorization: Bearer <token>)"
        )
        auditor = next(token for role, _, token in tokens if role == Role.AUDITOR.value)
        out.print(f"Security officers' console: http://{host}:{port}/console/  (auditor token:)")
        out.print(f"  {auditor}")
    tls: dict[str, Any] = {}
    if tls_cert is not None and tls_key is not None:
        tls = {
            "ssl_certfile": str(tls_cert),
            "ssl_keyfile": str(tls_key),
            "http": CertificateAwareH11,
        }
        if client_ca is not None:
            tls.update(ssl_ca_certs=str(client_ca), ssl_cert_reqs=ssl.CERT_OPTIONAL)
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: anyone on
    # the host (or any client, when a local proxy passes the header through) could then
    # pick the address the anonymous limit counts and the audit entry names
    trusted = (forwarded_allow_ips or settings.forwarded_allow_ips or "").strip()
    served: Any = "gateway.workers:worker_app"  # each worker builds its own app
    if workers > 1:
        # handed to the worker processes, which read it as a setting (DIBAO_SERVE_WORKERS)
        os.environ.update({WORKERS_ENV: str(workers)})
    else:
        served = ready(create_app(settings))
    uvicorn.run(
        served,
        factory=workers > 1,
        workers=workers,
        # a worker builds the schema and loads the policy before it answers: on a
        # loaded machine that is longer than uvicorn's 5 s, which then kills it
        timeout_worker_healthcheck=60,
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # its config would give its loggers plain handlers of their own
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        **tls,
    )


@import_app.command("archives")
def import_archives_command(
    file: Annotated[Path, typer.Argument(help="The register: .xlsx or .csv (UTF-8 or GB18030).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; write nothing.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="Write a copy of the input with each row's outcome (.xlsx or .csv)."),
    ] = None,
    region: Annotated[
        str, typer.Option(help="Only villages inside this scope are accepted (* for any).")
    ] = "*",
    actor: Annotated[
        str | None, typer.Option(help="Who imports, as the history and the audit name them.")
    ] = None,
) -> None:
    """Import households from a legacy register, checked row by row (see the README)."""
    import getpass

    from audit.chain import AuditChain
    from domain.region import validate_scope
    from domain.workflow import ReviewClass
    from resolvers.imports import ImportFileError, ImportReport, import_archives

    if report is not None and report.suffix.lower() not in {".xlsx", ".csv"}:
        err.print("[red]error[/red]: --report names an .xlsx or .csv file")
        raise typer.Exit(2)
    try:
        scope = "" if region == "*" else validate_scope(region)
    except DomainError as exc:
        err.print(f"[red]error[/red]: {exc.message}")
        raise typer.Exit(2) from None
    if not file.is_file():
        err.print(f"[red]error[/red]: cannot read {file}")
        raise typer.Exit(2)
    who = actor or f"cli:{getpass.getuser()}"
    settings = _settings()

    async def work(runtime: Runtime) -> ImportReport:
        await _upgrade(runtime)
        chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
        with _progress("checking" if dry_run else "importing") as progress:
            task = progress.add_task("import", total=None)
            return await import_archives(
                file,
                name=file.name,
                dry_run=dry_run,
                actor=who,
                actor_role="sysadmin",
                scope=scope,
                sessions=runtime.sessions,
                cipher=runtime.cipher,
                now=utcnow(),
                chain=chain,
                client="cli",
                report=report,
                review_months={ReviewClass(k): v for k, v in settings.review_months.items()},
                progress=lambda rows: progress.update(task, completed=rows),
            )

    try:
        result = _run(settings, work)
    except ImportFileError as exc:
        err.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from None
    for label, value in result.summary():
        out.print(f"{label}: {value}")
    if report is not None:
        out.print(f"报告: {report}")


@import_app.command("template")
def import_template(
    out_file: Annotated[Path, typer.Argument(metavar="OUT", help="An .xlsx or .csv file.")],
) -> None:
    """Write an empty register with the template's headers (Chinese)."""
    from domain.legacy import COLUMNS
    from resolvers.legacy_files import ReportWriter

    if out_file.suffix.lower() not in {".xlsx", ".csv"}:
        err.print("[red]error[/red]: OUT names an .xlsx or .csv file")
        raise typer.Exit(2)
    ReportWriter(out_file, [c.header for c in COLUMNS], outcome=False).close([])
    out.print(f"template written: {out_file}")
