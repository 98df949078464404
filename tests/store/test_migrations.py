"""Migrations: applied twice they change nothing, and they build exactly the tables the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bidagent.store import database_revision, make_engine, upgrade_database


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """A second upgrade leaves the revision and the tables as they were."""
    first = database_revision(engine)
    tables = sorted(inspect(engine).get_table_names())
    assert upgrade_database(engine) == first
    assert database_revision(engine) == first
    assert sorted(inspect(engine).get_table_names()) == tables


def test_empty_database_has_no_revision_until_upgraded(database_url: str) -> None:
    """A fresh database reports no revision; after upgrade it is at head with every table."""
    engine = make_engine(database_url)
    try:
        assert database_revision(engine) is None
        revision = upgrade_database(engine)
        assert revision is not None
        assert database_revision(engine) == revision
        assert sorted(inspect(engine).get_table_names()) == sorted(
            [*SQLModel.metadata.tables, "alembic_version"]
        )
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migrations and the SQLModel tables agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": SQLModel.metadata}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_downgrade_to_base_and_back(database_url: str) -> None:
    """Downgrading every migration leaves only Alembic's own table; upgrading again rebuilds
    every table the models declare."""
    from alembic import command

    from bidagent.store.db import _alembic_config

    engine = make_engine(database_url)
    try:
        upgrade_database(engine)
        config = _alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        assert database_revision(engine) is None
        upgrade_database(engine)
        assert sorted(inspect(engine).get_table_names()) == sorted(
            [*SQLModel.metadata.tables, "alembic_version"]
        )
    finally:
        engine.dispose()
