"""``bidagent console`` (serve the web console alone) and ``bidagent users`` (its people).

``console`` serves the same app ``bidagent run`` serves beside the daemon, against the same
database, for a console on another machine or container than the daemon (its ``/metrics`` then
has the database's series and no cycle counters of its own). ``users add NAME --role R`` takes
the password from a prompt (twice) or, with ``--password-stdin``, from the first line of standard
input; ``--no-password`` makes a user who signs in only through the proxy. ``users token NAME``
prints a new API token once (only its hash is kept; it replaces the user's previous token).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bidagent.agent.context import AgentContext
from bidagent.agent.service.health import check_health
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.cli.render import OutputFormat, render_rows
from bidagent.console.server import ConsoleServer, build_state
from bidagent.console.users import ROLES, add_user, issue_token, list_users, remove_user
from bidagent.store.types import utcnow

__all__ = ["console_command", "users_app"]

users_app = typer.Typer(
    name="users", help="People who may use the web console, their roles and API tokens.",
    no_args_is_help=True,
)  # fmt: skip


def console_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: [console] host.")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Default: [console] port.")
    ] = None,
) -> None:
    """Serve the web console (and /healthz, /metrics) alone, against the configured database."""
    settings = load_cli_settings(ctx)
    chosen_port = port if port is not None else settings.console.port
    if not chosen_port:
        fail("no port: set [console] port (BIDAGENT_CONSOLE__PORT) or pass --port", code=2)
    with (
        failing_cleanly(),
        open_database(settings) as engine,
        AgentContext.open(settings, engine=engine) as agent,
    ):
        state = build_state(settings, agent, lambda: check_health(settings, engine))
        server = ConsoleServer(state, host=host or settings.console.host, port=chosen_port)
        server.serve_until_signalled()


def _read_password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline()
        if not line.strip():
            fail("--password-stdin: standard input held no password", code=2)
        return line.rstrip("\r\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def add_command(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="The name people sign in with (and the ledger records).")
    ],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Signs in only through the proxy (auth = proxy).")
    ] = False,
) -> None:
    """Add a console user with a role: viewer reads, approver also decides and reverts, admin
    also pauses, resumes and manages users."""
    if password_stdin and no_password:
        fail("--password-stdin and --no-password exclude each other", code=2)
    if role not in ROLES:
        fail(f"--role: expected one of {', '.join(ROLES)}, not {role!r}", code=2)
    settings = load_cli_settings(ctx)
    password = None if no_password else _read_password(password_stdin)
    with open_database(settings) as engine, failing_cleanly():
        add_user(engine, name, role, password, now=utcnow())
    typer.echo(f"added {name} ({role})")


@users_app.command("list")
def list_command(
    ctx: typer.Context,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
) -> None:
    """List the console's users (no hashes)."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine:
        rows = [
            {"name": u.name, "role": u.role, "password": u.password_hash is not None,
             "api_token": u.token_hash is not None, "created_at": u.created_at,
             "token_created_at": u.token_created_at}
            for u in list_users(engine)
        ]  # fmt: skip
    render_rows(
        rows, ["name", "role", "password", "api_token", "created_at", "token_created_at"], fmt,
        title="console users",
    )  # fmt: skip


@users_app.command("remove")
def remove_command(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Remove a user: their sessions and API token stop working at once."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine, failing_cleanly():
        remove_user(engine, name)
    typer.echo(f"removed {name}")


@users_app.command("token")
def token_command(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Print a new API token for NAME, once (it replaces the previous one)."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine, failing_cleanly():
        token = issue_token(engine, name, now=utcnow())
    typer.echo(token)
    typer.echo(
        f"(shown once; send it as 'Authorization: Bearer ...'; {name}'s previous token no longer works)",
        err=True,
    )
