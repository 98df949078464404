"""Bulk fact upsert throughput: ``python -m bench.fact_upsert [--rows N] [--postgres URL]``.

Writes N daily fact rows (entities x 5 days) into a fresh, migrated SQLite file through
``upsert_rows``, from a polars frame and from dicts, then upserts them again (every row
conflicts), and prints rows/s for each next to a baseline measured in the same run: plain
``sqlite3`` ``executemany`` INSERTs with no conflict handling, the fastest the driver can go.
The target in the foundation issue is at least 100,000 rows/s on SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from bidagent.store import TargetFactRecord, make_engine, upgrade_database, upsert_rows

DAYS = 5


def _frame(rows: int, restated: bool) -> pl.DataFrame:
    entities = rows // DAYS
    start = dt.date(2026, 1, 1)
    ids = pl.int_range(0, entities, eager=True).cast(pl.Utf8)
    frames = []
    for day in range(DAYS):
        bump = 1 if restated else 0
        frames.append(
            pl.DataFrame(
                {
                    "entity_kind": pl.repeat("keyword", entities, eager=True),
                    "entity_id": ids,
                    "date": pl.repeat(start + dt.timedelta(days=day), entities, eager=True),
                    "profile_id": pl.repeat("1000", entities, eager=True),
                    "impressions": pl.repeat(100 + day, entities, eager=True),
                    "clicks": pl.repeat(5 + bump, entities, eager=True),
                    "cost": pl.repeat(2.5 + bump, entities, eager=True),
                    "orders": pl.repeat(1, entities, eager=True),
                    "sales": pl.repeat(20.0, entities, eager=True),
                    "units": pl.repeat(1, entities, eager=True),
                }
            )
        )
    return pl.concat(frames)


def _timed(label: str, rows: int, action: Callable[[], Any], baseline: float | None) -> float:
    started = time.perf_counter()
    action()
    rate = rows / (time.perf_counter() - started)
    ratio = f"  {rate / baseline:5.2f}x baseline" if baseline else ""
    print(f"{label:<44} {rate:>12,.0f} rows/s{ratio}")
    return rate


def _baseline(path: Path, frame: pl.DataFrame) -> float:
    """Plain sqlite3 executemany INSERT into a table with the same keys, no conflict clause."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    columns = frame.columns
    connection.execute(
        f"CREATE TABLE facts ({', '.join(columns)}, PRIMARY KEY (entity_kind, entity_id, date))"
    )
    data = frame.with_columns(pl.col("date").cast(pl.Utf8)).rows()
    sql = f"INSERT INTO facts VALUES ({', '.join('?' for _ in columns)})"

    def insert() -> None:
        with connection:
            connection.executemany(sql, data)

    try:
        return _timed("baseline: sqlite3 executemany INSERT", len(data), insert, None)
    finally:
        connection.close()


def _run(url: str, frame: pl.DataFrame, restated: pl.DataFrame, baseline: float | None) -> None:
    rows = frame.height
    engine = make_engine(url)
    upgrade_database(engine)
    for source, data, again in (
        ("polars", frame, restated),
        ("dicts", frame.to_dicts(), restated.to_dicts()),
    ):
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM target_facts")
        _timed(
            f"upsert_rows from {source}: insert",
            rows,
            lambda d=data: upsert_rows(engine, TargetFactRecord, d),
            baseline,
        )  # type: ignore[misc]
        _timed(
            f"upsert_rows from {source}: conflict (restated)",
            rows,
            lambda d=again: upsert_rows(engine, TargetFactRecord, d),
            baseline,
        )  # type: ignore[misc]
        with engine.connect() as connection:
            count = connection.exec_driver_sql("SELECT count(*) FROM target_facts").scalar()
        assert count == rows, f"expected {rows} rows, found {count}"
    engine.dispose()


def main() -> None:
    """Run the benchmark and print a small table of rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="fact rows (default 1,000,000)")
    parser.add_argument(
        "--postgres", help="also run against this PostgreSQL URL (its table is emptied)"
    )
    args = parser.parse_args()
    frame, restated = _frame(args.rows, False), _frame(args.rows, True)
    print(f"{frame.height:,} rows: {frame.height // DAYS:,} entities x {DAYS} days")
    with tempfile.TemporaryDirectory(prefix="bidagent-bench-") as folder:
        baseline = _baseline(Path(folder) / "baseline.db", frame)
        _run(f"sqlite:///{folder}/facts.db", frame, restated, baseline)
    if args.postgres:
        print("PostgreSQL:")
        _run(args.postgres, frame, restated, None)


if __name__ == "__main__":
    main()
