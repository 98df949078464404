"""Store fixtures: every store test runs on SQLite, and on PostgreSQL when its binaries exist.

``database_url`` is parametrized over both backends; each test gets its own empty database (a
fresh SQLite file, or a freshly created PostgreSQL database), ``engine`` has it migrated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import REQUIRE_ENV, REQUIRED, PostgresServer, find_binaries, start_postgres
from sqlalchemy.engine import Engine

from bidagent.store import make_engine, upgrade_database


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (skipped without binaries unless required)."""
    bin_dir = find_binaries()
    if bin_dir is None:
        if REQUIRED:
            pytest.fail(
                f"{REQUIRE_ENV}=1 but no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin",
                pytrace=False,
            )
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = start_postgres(bin_dir)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database."""
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()
