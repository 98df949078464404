"""Bulk upsert keyed by primary key, the same on SQLite and PostgreSQL.

Reports are re-pulled for the last days on every cycle (Amazon restates conversions), so facts
arrive again and again for the same (entity, date): they must overwrite, never duplicate. Both
databases speak ``INSERT ... ON CONFLICT (key) DO UPDATE SET col = excluded.col``; we build that
statement once and feed it rows through the driver's ``executemany``, skipping the ORM, which is
what makes 100k+ rows/s possible on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import JSON, Table
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from bidagent.store.types import sqlite_datetime_text

__all__ = ["upsert_rows"]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # Match SQLAlchemy's own SQLite DATETIME storage format (naive UTC, see store.types).
        return sqlite_datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _statement(table: Table, columns: Sequence[str], dialect: str) -> str:
    keys = [c.name for c in table.primary_key.columns]
    missing = [k for k in keys if k not in columns]
    if missing:
        raise ValueError(f"upsert into {table.name}: rows lack key column(s) {missing}")
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"upsert into {table.name}: unknown column(s) {unknown}")
    marker = "?" if dialect == "sqlite" else "%s"
    quoted = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(marker for _ in columns)
    updates = [c for c in columns if c not in keys]
    action = (
        "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in updates)
        if updates
        else "DO NOTHING"
    )
    conflict = ", ".join(f'"{k}"' for k in keys)
    return (
        f'INSERT INTO "{table.name}" ({quoted}) VALUES ({values}) ON CONFLICT ({conflict}) {action}'
    )


def _tuples(
    rows: Sequence[Mapping[str, Any]] | pl.DataFrame,
    columns: Sequence[str],
    table: Table,
    dialect: str,
) -> Iterable[tuple[Any, ...]]:
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    if isinstance(rows, pl.DataFrame):
        frame = rows.select(columns)
        if dialect == "sqlite":
            frame = frame.with_columns(
                pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if t == pl.Date
            )
        plain: Iterable[tuple[Any, ...]] = frame.iter_rows()
        native = all(
            t in (pl.Utf8, pl.Boolean, pl.Null)
            or (t.is_numeric() and not isinstance(t, pl.Decimal))
            for t in frame.schema.values()
        )
        if native and not json_columns:
            # Every value is one the driver binds as is: skip the per-value Python pass, which
            # otherwise costs more than the INSERT itself on SQLite.
            return plain
    else:
        plain = (tuple(r.get(c) for c in columns) for r in rows)
    if not json_columns and dialect != "sqlite":
        return plain
    positions = [i for i, c in enumerate(columns) if c in json_columns]

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(row)
        for i in positions:
            out[i] = None if out[i] is None else json.dumps(out[i])
        if dialect == "sqlite":
            out = [_sqlite_value(v) for v in out]
        return tuple(out)

    return (convert(r) for r in plain)


def upsert_rows(
    target: Engine | Connection,
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]] | pl.DataFrame,
    *,
    chunk_size: int = 50_000,
) -> int:
    """Insert or overwrite ``rows`` (dicts or a polars frame) into ``model``'s table by primary key.

    Runs in one transaction when given an engine; joins the caller's when given a connection.
    Returns the number of rows written.
    """
    table: Table = model.__table__  # type: ignore[attr-defined]
    count = len(rows)
    if count == 0:
        return 0
    columns = list(rows.columns) if isinstance(rows, pl.DataFrame) else list(rows[0].keys())
    dialect = target.dialect.name
    sql = _statement(table, columns, dialect)
    data = _tuples(rows, columns, table, dialect)

    def write(connection: Connection) -> None:
        batch: list[tuple[Any, ...]] = []
        for row in data:
            batch.append(row)
            if len(batch) >= chunk_size:
                connection.exec_driver_sql(sql, batch)
                batch = []
        if batch:
            connection.exec_driver_sql(sql, batch)

    if isinstance(target, Engine):
        with target.begin() as connection:
            write(connection)
    else:
        write(target)
    return count
