"""``bidagent health``: exit 0 when the agent is alive and on time, 1 otherwise (Docker HEALTHCHECK).

The rule is :func:`bidagent.agent.service.health.check_health`, the same one the daemon's ``/healthz``
serves, so the two can never disagree:

* the database answers (a missing SQLite file is unhealthy, and is not created by the check);
* the newest cycle did not fail, nor have every rule held for stale data;
* the newest cycle record was written no longer ago than one schedule period plus the misfire
  grace: one day plus ``schedule.misfire_grace_s`` on Amazon; on the in-process sandbox the period
  is ``sandbox.seconds_per_day`` (plus a minute, as the daemon's clock is accelerated);
* before the first cycle, healthy for that same allowance after the first start. This command
  runs in its own process, so "start" is the start of PID 1: in the container that is the daemon
  (or the init in front of it), started with the container. Outside a container PID 1 is the
  system's init, so a machine that booted long ago with no cycle ever recorded is unhealthy,
  which is the truth. Where /proc is not readable no start time is known, and no cycle means
  unhealthy.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bidagent.agent.service.health import check_health
from bidagent.cli.bootstrap import load_cli_settings, open_database
from bidagent.cli.db import missing_sqlite_file
from bidagent.cli.render import DetailFormat

__all__ = ["first_start", "health_command"]


def first_start(proc: Path = Path("/proc")) -> datetime | None:
    """When PID 1 started (Linux), or None when that cannot be read."""
    try:
        stat = (proc / "1" / "stat").read_text()
        # Fields after the ")" that closes the command name start at field 3; starttime is 22.
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in (proc / "stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def health_command(
    ctx: typer.Context,
    fmt: Annotated[
        DetailFormat,
        typer.Option("--format", "-f", help='table, or json: {"healthy": bool, "reason": str}.'),
    ] = DetailFormat.table,
) -> None:
    """Exit 0 when the database answers and the last cycle is on time; 1 with the reason otherwise."""
    settings = load_cli_settings(ctx, logging=False)
    missing = missing_sqlite_file(settings)
    if missing is not None:
        healthy, reason = False, f"database file {missing} does not exist"
    else:
        with open_database(settings, upgrade=False) as engine:
            healthy, reason = check_health(settings, engine, started=first_start())
    if fmt is DetailFormat.json:
        typer.echo(json.dumps({"healthy": healthy, "reason": reason}))
        raise typer.Exit(0 if healthy else 1)
    if not healthy:
        typer.echo(f"unhealthy: {reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"healthy: {reason}")
