"""Root Typer app: global options and the registry of command groups.

A group is registered here only once it really works; no command prints "not implemented".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bidagent import __version__
from bidagent.cli.review import review_app
from bidagent.cli.rules import rules_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="bidagent",
    help="Run routine Amazon Sponsored Ads bid, budget and state rules; log every change.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(review_app)
app.add_typer(rules_app)


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
