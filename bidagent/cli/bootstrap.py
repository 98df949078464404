"""What every command does first: load the configuration, open the database, fail cleanly.

Owns the CLI's one way to load settings (secrets registered for redaction, logging configured),
its one way to open the database (``[database]`` settings, migrated to head unless told not to;
a ledger that is not initialised is refused, except the built-in demo's, see
:attr:`Settings.creates_ledger`),
and its one way to fail (``error: message`` on stderr, an exit code, no traceback), so no command
reinvents them. It must not hold command logic: it knows nothing of rules, cycles or review items.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer

from bidagent.errors import BidAgentError, ConfigError
from bidagent.logs import configure_logging, register_settings_secrets
from bidagent.settings import Settings, load_settings
from bidagent.store import Engine, make_engine, prepare_ledger

__all__ = ["fail", "failing_cleanly", "load_cli_settings", "open_database"]


def _config_path(ctx: typer.Context) -> Path | None:
    """The ``--config`` path given to the root command, if any."""
    obj = ctx.find_root().obj or {}
    path = obj.get("config_path") if isinstance(obj, dict) else None
    return Path(path) if path is not None else None


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code`` (1: a problem was found, 2: usage)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def failing_cleanly() -> Iterator[None]:
    """Turn a :class:`BidAgentError` raised inside the block into ``error: message``, exit 1."""
    try:
        yield
    except BidAgentError as exc:
        fail(str(exc))


def load_cli_settings(ctx: typer.Context, *, logging: bool = True) -> Settings:
    """Load the settings for this command; on a :class:`ConfigError` print it and exit 1.

    The configuration's secrets are registered for redaction before anything can log them, then
    logging is configured from ``[logging]`` (pass ``logging=False`` to leave it alone).
    """
    try:
        settings = load_settings(_config_path(ctx))
    except ConfigError as exc:
        fail(str(exc))
    register_settings_secrets(settings)
    if logging:
        configure_logging(settings.logging)
    return settings


@contextmanager
def open_database(settings: Settings, *, upgrade: bool = True) -> Iterator[Engine]:
    """The engine for ``[database]``, migrated to head (``upgrade=False``: as it is), disposed after.

    A database that cannot be opened or migrated, or is not initialised (``bidagent db upgrade``
    creates it), is ``error: message``, exit 1. Diagnostics that must not create or change the
    database (``db current``, ``health``) and ``db upgrade`` itself pass ``upgrade=False``.
    """
    try:
        engine = make_engine(
            settings.database.url,
            busy_timeout_ms=settings.database.busy_timeout_ms,
            echo=settings.database.echo,
        )
    except BidAgentError as exc:
        fail(str(exc))
    try:
        if upgrade:
            with failing_cleanly():
                prepare_ledger(engine, create=settings.creates_ledger)
        yield engine
    finally:
        engine.dispose()
