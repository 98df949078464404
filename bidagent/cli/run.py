"""``bidagent run``: start the daemon (the Docker entrypoint and ``make run``)."""

from __future__ import annotations

from typing import Annotated

import typer

from bidagent.agent.service.daemon import Daemon
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings
from bidagent.console.server import start_console

__all__ = ["register"]


def run_command(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option("--days", help="Sandbox only: stop after this many simulated days."),
    ] = None,
) -> None:
    """Run the agent as a service: cycles on schedule, rule reloads, notifications, and the web
    console when [console] port is set."""
    settings = load_cli_settings(ctx)
    if days is not None and settings.ads.backend != "sandbox":
        # Only the in-process sandbox counts days; elsewhere --days would never stop the daemon.
        fail('--days needs the in-process sandbox ([ads] source = "sandbox")', code=2)
    with failing_cleanly():
        serve = start_console if settings.console.port else None
        code = Daemon(settings, serve=serve).run(max_ticks=days)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the root app."""
    app.command("run")(run_command)
