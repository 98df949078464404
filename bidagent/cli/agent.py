"""Commands that run the agent: ``cycle`` and ``plan`` (registered from :mod:`bidagent.cli.cycle`
and :mod:`bidagent.cli.plan`), ``pause`` and ``resume`` (the kill switch), ``profiles``.

Thin: load settings, open the database, call the agent, print. :func:`one_profile` is how a
command that works on one profile picks it: the one named, else the only managed one; several
and none named is a usage error (exit 2).
"""

from __future__ import annotations

from typing import Annotated

import typer

from bidagent.agent.context import AgentContext
from bidagent.agent.profiles import managed_profiles, profile_ids
from bidagent.agent.service.kill_switch import GLOBAL_SCOPE, pause, resume
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.cli.cycle import CYCLE_HELP, cycle_command
from bidagent.cli.plan import PLAN_HELP, plan_command
from bidagent.cli.render import OutputFormat, render_rows
from bidagent.store.types import utcnow

__all__ = ["one_profile", "register"]

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


def one_profile(agent: AgentContext, given: str | None) -> str:
    """``given`` when it is managed, else the only managed profile; exit 2 when several are
    managed and none is named, 1 when ``given`` is not managed or none is."""
    ids = profile_ids(agent, given)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        fail("no profile is managed here: configure [[profiles]] or check the Ads account")
    return fail(
        f"{len(ids)} profiles are managed ({', '.join(ids)}): name one with --profile", code=2
    )


PROFILE_COLUMNS = ["profile_id", "name", "country", "currency", "timezone", "last_cycle",
                   "last_business_date", "last_outcome", "last_finished_at"]  # fmt: skip


def profiles_command(
    ctx: typer.Context,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, json or csv.")] = (
        OutputFormat.table
    ),
) -> None:
    """List the managed profiles: id, name, country, currency, time zone and the last cycle."""
    settings = load_cli_settings(ctx)
    with failing_cleanly(), AgentContext.open(settings) as agent:
        found = managed_profiles(agent)
    rows = [
        {"profile_id": p.profile_id, "name": p.name, "country": p.country_code,
         "currency": p.currency_code, "timezone": p.timezone, "last_cycle": p.last_cycle_id,
         "last_business_date": p.last_business_date, "last_outcome": p.last_outcome,
         "last_finished_at": p.last_finished_at}
        for p in found
    ]  # fmt: skip
    render_rows(rows, PROFILE_COLUMNS, fmt, title="profiles")


def register(app: typer.Typer) -> None:
    """Add the agent's top-level commands to the root app."""
    app.command("cycle", help=CYCLE_HELP)(cycle_command)
    app.command("plan", help=PLAN_HELP)(plan_command)
    app.command("pause")(pause_command)
    app.command("resume")(resume_command)
    app.command("profiles")(profiles_command)
