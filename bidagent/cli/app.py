"""Root Typer app: global options and the registry of command groups.

A group is registered here only once it really works; no command prints "not implemented".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from bidagent import __version__
from bidagent.cli import agent as agent_commands
from bidagent.cli import changes as change_commands
from bidagent.cli import run as run_commands
from bidagent.cli.backtest import backtest_command
from bidagent.cli.config import config_app
from bidagent.cli.console import console_command, users_app
from bidagent.cli.db import db_app
from bidagent.cli.health import health_command
from bidagent.cli.init import init_command
from bidagent.cli.review import review_app
from bidagent.cli.rules import rules_app
from bidagent.cli.sandbox import sandbox_app

__all__ = ["app", "main"]


def _flags_show_no_type() -> None:
    """Typer's help prints a type column for every option, ``<bool>`` even for a flag, which
    takes no value: show nothing there for flags (``--help`` included)."""
    option = typer.core.TyperOption
    shown = option.display_type_rich

    def display_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    option.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()

app = typer.Typer(
    name="bidagent",
    help="Run routine Amazon Sponsored Ads bid, budget and state rules; log every change.",
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell (README).
    add_completion=True,
    pretty_exceptions_enable=False,
)

run_commands.register(app)
agent_commands.register(app)
change_commands.register(app)
app.add_typer(review_app)
app.add_typer(rules_app)
app.add_typer(sandbox_app)
app.add_typer(db_app)
app.add_typer(config_app)
app.command("health")(health_command)
app.command("backtest")(backtest_command)
app.command("init")(init_command)
app.command("console")(console_command)
app.add_typer(users_app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"bidagent {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file (default: $BIDAGENT_CONFIG, then ./bidagent.toml, then built-in).",
            dir_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """bidagent: routine Sponsored Ads bid and budget work, as rules, run every day."""
    ctx.obj = {"config_path": config}


def main() -> None:
    """Console-script entry point."""
    app()
