"""Opening the database: one engine factory for SQLite and PostgreSQL, sessions, and migrations.

SQLite gets WAL (readers never block the writer), a busy timeout (the CLI and the daemon can share
the file), foreign keys (off by default in SQLite), and ``BEGIN IMMEDIATE`` so a transaction takes
the write lock up front instead of failing half-way when another writer got there first.
PostgreSQL is used as it comes, by URL (``postgresql+psycopg://user@host/db``).

Transactions are short and never span an HTTP call; callers open a session per step.

The ledger is never created by accident: :func:`make_engine` creates no folder (a SQLite path
whose folder is missing is an error), and :func:`prepare_ledger` migrates an initialised ledger
but creates a new one only when asked (``bidagent db upgrade``, the built-in demo). A typo'd or
unmounted path must not become an empty ledger that forgets every cooldown and rejection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bidagent.errors import StoreError
from bidagent.store.database_urls import shown_url, sqlite_file

__all__ = ["make_engine", "prepare_ledger", "session_scope", "upgrade_database"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False) -> Engine:
    """Create the engine for ``url`` with the pragmas and pool settings this project relies on."""
    url = normalise_url(url)
    try:
        if url.startswith("sqlite"):
            path = sqlite_file(url)
            if path is not None and not path.parent.is_dir():
                raise StoreError(
                    f"cannot open database {shown_url(url)}: folder {path.parent} does not exist"
                    " (nothing was created; check database.url)"
                )
            engine = create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            )
            _configure_sqlite(engine, busy_timeout_ms)
        else:
            engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except (SQLAlchemyError, ValueError) as exc:
        # SQLAlchemy's parse errors quote the URL whole: mask it before it reaches a message.
        detail = _reason(exc).replace(url, shown_url(url))
        raise StoreError(f"cannot open database {shown_url(url)}: {detail}") from None
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error: one short transaction."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    # Only the folder goes into Alembic's config: it is a ConfigParser with %-interpolation, so a
    # percent-encoded password would crash it (and print the URL). The migrations run on the
    # connection handed over in ``attributes``, never on a URL.
    config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> str | None:
    """Apply Alembic migrations up to ``revision``; return the revision the database is now at."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate database {_shown(engine)}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """A driver's error on one line, without SQLAlchemy's link to its error catalogue."""
    lines = [line.strip() for line in str(exc).splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("(Background on"))


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _revision(engine: Engine) -> str | None:
    try:
        return database_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open database {_shown(engine)}: {_reason(exc)}") from None


def prepare_ledger(engine: Engine, *, create: bool) -> str | None:
    """Migrate the ledger to head; refuse one that is not initialised unless ``create``.

    Not initialised: a SQLite file that does not exist, or a database without bidagent's
    migration table. ``create`` is for ``bidagent db upgrade`` and the built-in demo only.
    An in-memory SQLite database holds nothing to lose and is always created.
    """
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if not (create or in_memory):
        path = sqlite_file(url)
        if path is not None and not path.exists():
            raise StoreError(
                f"database file {path} does not exist; run `bidagent db upgrade` to create the"
                " ledger there, or check database.url (a typo or an unmounted volume)"
            )
        # An empty file is no ledger either; reading it would already write SQLite's header.
        revision = None if path is not None and path.stat().st_size == 0 else _revision(engine)
        if revision is None:
            raise StoreError(
                f"database {_shown(engine)} is not an initialised bidagent ledger; run"
                " `bidagent db upgrade` to create it, or check database.url"
            )
    return upgrade_database(engine)


def database_revision(engine: Engine) -> str | None:
    """The migration revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return MigrationContext.configure(connection).get_current_revision()
