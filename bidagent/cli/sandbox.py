"""``bidagent sandbox``: reset, advance, serve and inspect the simulated marketplace.

Thin: parse options, open the sandbox the configuration names, call it, print. ``serve`` prints
its base URL as the first line of stdout (tests start it with ``--port 0`` and read that line)
and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import signal
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings
from bidagent.cli.render import DetailFormat, to_jsonable
from bidagent.sandbox import SCENARIOS, Sandbox
from bidagent.sandbox.faults import FaultConfig
from bidagent.sandbox.market import profile_zone
from bidagent.sandbox.server import SandboxServer

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(
    name="sandbox", help="The simulated marketplace and its fake Ads API.", no_args_is_help=True
)


def _open(ctx: typer.Context) -> Sandbox:
    settings = load_cli_settings(ctx, logging=False)
    with failing_cleanly():
        return Sandbox.from_settings(settings)


@sandbox_app.command()
def reset(
    ctx: typer.Context,
    seed: Annotated[int | None, typer.Option(help="Seed of the new account.")] = None,
    scenario: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(sorted(SCENARIOS))}.")
    ] = None,
) -> None:
    """Start the sandbox over: a fresh account with its history."""
    with _open(ctx) as sandbox:
        with failing_cleanly():
            sandbox.reset(seed=seed, scenario=scenario)
        typer.echo(
            f"sandbox reset: seed {sandbox.seed}, scenario {sandbox.scenario.name}, "
            f"clock {sandbox.now.isoformat()}"
        )


@sandbox_app.command()
def advance(
    ctx: typer.Context,
    days: Annotated[float, typer.Option(help="Simulated days to move forward.")] = 0,
    hours: Annotated[float, typer.Option(help="Simulated hours to move forward.")] = 0,
) -> None:
    """Move the simulated clock forward, simulating the traffic in between."""
    if days < 0 or hours < 0 or days + hours == 0:
        fail("give --days and/or --hours, greater than zero", code=2)
    with _open(ctx) as sandbox:
        now = sandbox.advance(days=days, hours=hours)
        typer.echo(f"sandbox clock: {now.isoformat()}")


@sandbox_app.command()
def status(
    ctx: typer.Context,
    fmt: Annotated[DetailFormat, typer.Option("--format", "-f", help="table or json.")] = (
        DetailFormat.table
    ),
) -> None:
    """Show the clock, profiles, entity counts and yesterday's spend."""
    with _open(ctx) as sandbox:
        info = sandbox.status()
    if fmt is DetailFormat.json:
        typer.echo(json.dumps(to_jsonable(info), indent=2))
        return
    typer.echo(f"clock     {info['now']}  (seed {info['seed']}, scenario {info['scenario']})")
    for profile in info["profiles"]:
        spend = info["spend_yesterday"][profile["profile_id"]]
        typer.echo(
            f"profile   {profile['profile_id']}  {profile['country']}  spend yesterday {spend:.2f}"
        )
    counts = info["counts"]
    typer.echo(
        f"campaigns {counts.get('campaign', 0)}  ad groups {counts.get('ad_group', 0)}  "
        f"keywords {counts.get('keyword', 0)}  targets {counts.get('target', 0)}"
    )


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@sandbox_app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to bind (keep it loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8765,
    seed: Annotated[int | None, typer.Option(help="Reset to this seed if it differs.")] = None,
    faults: Annotated[
        Path | None, typer.Option(help="TOML file of fault settings.", dir_okay=False)
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(
            help="Day 0 as YYYY-MM-DD: history ends the day before (default: today in the "
            "first profile's time zone, so 'the last 7 days' has data).",
            metavar="DATE",
        ),
    ] = None,
    exchange_log: Annotated[
        Path | None,
        typer.Option(
            help="Append every request and answer to this file as JSON lines (credentials "
            "masked), to check a client's traffic against Amazon's specs.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Serve the fake Ads API over HTTP; prints the base URL first, runs until SIGTERM.

    The served world is anchored to real dates: a sandbox whose day 0 is not ``--today`` (by
    default the real date) starts over with a fresh history ending the day before.
    """
    fault_config = FaultConfig.from_toml(faults) if faults else None
    try:
        anchor = date.fromisoformat(today) if today is not None else None
    except ValueError:
        fail(f"--today: expected a date as YYYY-MM-DD, not {today!r}", code=2)
    with _open(ctx) as sandbox:
        if anchor is None:
            zone = profile_zone(sandbox.profile_rows()[0]["country"])
            anchor = datetime.now(zone).date()
        if (seed is not None and seed != sandbox.seed) or anchor != sandbox.start_date:
            sandbox.reset(seed=seed, start_date=anchor)
        server = SandboxServer(sandbox, host, port, fault_config, exchange_log=exchange_log)
        typer.echo(server.base_url)
        typer.echo(f"token url {server.token_url}  profiles {', '.join(sandbox.profiles)}")
        signal.signal(signal.SIGTERM, _stop)
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.stopping.set()
            server.server_close()
