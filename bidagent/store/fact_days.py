"""Report facts by day: a re-pulled day's rows replace that day's rows whole.

A report pulled again for a day is the whole truth for that day: rows it no longer contains (a
search term that was re-split, a target that stopped serving) must disappear, or the stored
facts drift above what Amazon reports. So a re-pull deletes the profile's rows for the pulled
days of each fact table, set-based by (profile, date range) on the ``(profile_id, date)`` index,
and inserts the new rows through the bulk path of :mod:`bidagent.store.upsert`, all in one
transaction: a failure part-way leaves the old rows as they were.

It must not fetch or validate reports (``agent/cycle/sync.py`` does) nor record coverage
(:mod:`bidagent.store.report_days`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl
from sqlalchemy import Table, delete
from sqlalchemy.engine import Engine

from bidagent.store.entities import CampaignFactRecord, SearchTermFactRecord, TargetFactRecord
from bidagent.store.upsert import upsert_rows

__all__ = ["FactModel", "replace_fact_days"]

FactModel = type[TargetFactRecord] | type[SearchTermFactRecord] | type[CampaignFactRecord]


def replace_fact_days(
    engine: Engine,
    profile_id: str,
    start: date,
    end: date,
    frames: Mapping[FactModel, pl.DataFrame],
) -> dict[str, int]:
    """Replace ``profile_id``'s rows dated ``start..end`` (both included) in each table of
    ``frames`` by that frame's rows, in one transaction; return rows deleted per table.

    Every row of a frame must belong to ``profile_id`` and lie in ``start..end``, or the
    replacement would not be whole (``ValueError`` before anything is written).
    """
    for model, frame in frames.items():
        _check_inside(model, frame, profile_id, start, end)
    deleted: dict[str, int] = {}
    with engine.begin() as connection:
        for model, frame in frames.items():
            table: Table = model.__table__  # type: ignore[union-attr]
            result = connection.execute(
                delete(table).where(
                    table.c.profile_id == profile_id,
                    table.c.date >= start,
                    table.c.date <= end,
                )
            )
            deleted[table.name] = result.rowcount
            if frame.height:
                upsert_rows(connection, model, frame)
    return deleted


def _check_inside(model: FactModel, frame: pl.DataFrame, profile_id: str, start: date,
                  end: date) -> None:  # fmt: skip
    if frame.is_empty():
        return
    outside = frame.filter(
        (pl.col("profile_id") != profile_id) | (pl.col("date") < start) | (pl.col("date") > end)
    )
    if outside.height:
        name = model.__tablename__
        raise ValueError(
            f"{name}: {outside.height} row(s) outside profile {profile_id}, {start}..{end}"
        )
