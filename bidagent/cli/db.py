"""``bidagent db upgrade`` and ``bidagent db current``: the database's migration state.

Owns only the CLI side; migrations themselves live in :mod:`bidagent.store`. The daemon also
upgrades at start, so ``db upgrade`` is for operators who want it explicit (or PostgreSQL
deployments that migrate before rolling out replicas).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from alembic.script import ScriptDirectory

import bidagent.store.db
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.settings import Settings
from bidagent.store import database_revision, upgrade_database
from bidagent.store.database_urls import shown_url, sqlite_file

__all__ = ["db_app", "head_revision", "missing_sqlite_file"]

db_app = typer.Typer(name="db", help="Database migrations.", no_args_is_help=True)


def head_revision() -> str | None:
    """The newest migration this version of bidagent ships."""
    folder = Path(bidagent.store.db.__file__).with_name("migrations")
    return ScriptDirectory(str(folder)).get_current_head()


def missing_sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the URL names when it does not exist (diagnostics must not create it)."""
    path = sqlite_file(settings.database.url)
    return None if path is None or path.exists() else path


def _shown_url(settings: Settings) -> str:
    return shown_url(settings.database.url)


@db_app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Apply every pending migration and print the revision the database is now at."""
    settings = load_cli_settings(ctx)
    with open_database(settings, upgrade=False) as engine, failing_cleanly():
        revision = upgrade_database(engine)
    typer.echo(f"database {_shown_url(settings)} at revision {revision}")


@db_app.command("current")
def current_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Print the database's revision and the newest one this version ships.

    Exit 0 when the database is at head, 1 when it is empty or behind (run ``bidagent db upgrade``).
    """
    if fmt not in ("text", "json"):
        fail(f"--format must be text or json, not {fmt!r}", code=2)
    settings = load_cli_settings(ctx)
    missing = missing_sqlite_file(settings)
    with open_database(settings, upgrade=False) as engine:
        try:
            current = None if missing else database_revision(engine)
        except Exception as exc:  # any driver error: report it, this is a diagnostic command
            fail(f"database {_shown_url(settings)} does not answer: {type(exc).__name__}: {exc}")
    head = head_revision()
    if fmt == "json":
        typer.echo(json.dumps({"current": current, "head": head, "up_to_date": current == head}))
    elif current == head:
        typer.echo(f"{current} (head)")
    else:
        typer.echo(f"{current or 'empty'} (head is {head}; run `bidagent db upgrade`)")
    if current != head:
        raise typer.Exit(1)
