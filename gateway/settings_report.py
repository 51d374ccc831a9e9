"""`dibao config`: the settings in force, where each comes from, secrets hidden."""

from __future__ import annotations

import os
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.config import load_settings
from gateway.config_table import SETTINGS, Setting, unknown_names

HIDDEN = "(hidden)"


def refuse(console: Console, message: str) -> None:
    """One line, as given: an accepted form such as `DECISION[/EXTENDED]` is not markup,
    and a journal or a log file reads one line per refusal."""
    console.print(f"[red]error[/red]: {escape(message)}", soft_wrap=True)


def warn(console: Console, message: str) -> None:
    console.print(f"[yellow]warning[/yellow]: {escape(message)}", soft_wrap=True)


def shown_value(setting: Setting, text: str) -> str:
    """What may be printed of a value: a database URL without its password, no other secret.

    Only the key file's path is a setting; its contents are never read here."""
    if not setting.secret:
        return text
    if setting.name == "DIBAO_DATABASE_URL":
        try:
            url = make_url(text)
        except ArgumentError:
            return HIDDEN
        query = {k: ("***" if "pass" in k.lower() else v) for k, v in url.query.items()}
        return url.set(query=query).render_as_string(hide_password=True)
    return HIDDEN


def report(environ: dict[str, str]) -> list[dict[str, str]]:
    rows = []
    for setting in SETTINGS:
        given = environ.get(setting.name, "").strip()
        rows.append(
            {
                "name": setting.name,
                "value": shown_value(setting, given) if given else setting.default,
                "source": "environment" if given else "default",
            }
        )
    return rows


def config_command(
    json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Print the settings in force (name, value, source), secrets hidden; exit 2 on a bad one."""
    err = Console(stderr=True)
    environ = dict(os.environ)
    problem = None
    try:
        load_settings(environ=environ)
    except ValueError as exc:
        problem = str(exc)
    rows, unknown = report(environ), unknown_names(list(environ))
    if json:
        body = {"settings": rows, "unknown": unknown, "error": problem}
        typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        table = Table("setting", "value", "source", title="Dibao settings in force")
        for row in rows:
            # a value is text, never markup (an IPv6 origin holds brackets)
            table.add_row(row["name"], escape(row["value"]) or "(none)", row["source"])
        Console(highlight=False).print(table)
        for name in unknown:
            warn(err, f"{name} is not a setting")
    if problem is not None:
        refuse(err, problem)
        raise typer.Exit(2)
