"""Commands that run the agent: ``cycle`` and ``plan`` (registered from :mod:`bidagent.cli.cycle`
and :mod:`bidagent.cli.plan`), ``pause`` and ``resume`` (the kill switch).

Thin: load settings, open the database, call the agent, print.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bidagent.agent.service.kill_switch import GLOBAL_SCOPE, pause, resume
from bidagent.cli.bootstrap import load_cli_settings, open_database
from bidagent.cli.cycle import CYCLE_HELP, cycle_command
from bidagent.cli.plan import PLAN_HELP, plan_command
from bidagent.store.types import utcnow

__all__ = ["register"]

ProfileOption = Annotated[
    str | None, typer.Option("--profile", "-p", help="Only this profile id (default: all).")
]


def pause_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why; shown to others.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who pauses.")] = "cli",
) -> None:
    """Engage the kill switch: nothing is sent until `bidagent resume`."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine:
        pause(engine, scope=profile or GLOBAL_SCOPE, reason=reason, by=by, now=utcnow())
    typer.echo(f"paused {profile or 'all profiles'}: no change will be sent")


def resume_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    by: Annotated[str, typer.Option("--by", help="Who resumes.")] = "cli",
) -> None:
    """Release the kill switch."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine:
        resume(engine, scope=profile or GLOBAL_SCOPE, by=by, now=utcnow())
    typer.echo(f"resumed {profile or 'all profiles'}")


def register(app: typer.Typer) -> None:
    """Add the agent's top-level commands to the root app."""
    app.command("cycle", help=CYCLE_HELP)(cycle_command)
    app.command("plan", help=PLAN_HELP)(plan_command)
    app.command("pause")(pause_command)
    app.command("resume")(resume_command)
