"""What every command does first: load the configuration, fail cleanly, set up logging.

Owns the CLI's handling of a bad configuration (one line on stderr, exit 1, no traceback) so each
command does not reinvent it. It must not open databases or clients: commands do that.
"""

from __future__ import annotations

from pathlib import Path

import typer

from bidagent.errors import ConfigError
from bidagent.logs import configure_logging, register_settings_secrets
from bidagent.settings import Settings, load_settings

__all__ = ["config_path", "fail", "load_cli_settings"]


def config_path(ctx: typer.Context) -> Path | None:
    """The ``--config`` path given to the root command, if any."""
    obj = ctx.find_root().obj or {}
    path = obj.get("config_path") if isinstance(obj, dict) else None
    return Path(path) if path is not None else None


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` to stderr and exit with ``code`` (1: a problem was found)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_cli_settings(ctx: typer.Context, *, logging: bool = True) -> Settings:
    """Load the settings for this command; on a :class:`ConfigError` print it and exit 1.

    The configuration's secrets are registered for redaction before anything can log them, then
    logging is configured from ``[logging]`` (pass ``logging=False`` to leave it alone).
    """
    try:
        settings = load_settings(config_path(ctx))
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable: fail() raises; keeps type checkers sure settings is bound
    register_settings_secrets(settings)
    if logging:
        configure_logging(settings.logging)
    return settings
