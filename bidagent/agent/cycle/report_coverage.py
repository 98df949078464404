"""Report coverage for the engine: which days each report source covered for one profile.

Owns reading ``report_days`` (written by the cycle after a successful report sync) into the
engine's ``report_dates`` frame. Without it the engine guesses coverage from the facts, and a
quiet day (a report with no rows) looks the same as a day whose report never arrived; with it, a
profile whose report sync keeps failing stops at the last day really pulled, and the freshness
guardrail holds its rules instead of letting them act on stale numbers.

It must not write anything, and must not decide freshness: the engine does.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.engine import Connection

from bidagent.engine.inputs import REPORT_DATES_SCHEMA, frame
from bidagent.store import ReportDayRecord

__all__ = ["read_report_dates"]


def read_report_dates(connection: Connection, profile_id: str, since: date) -> pl.DataFrame:
    """The (source, date) pairs a report covered for ``profile_id`` from ``since`` on, oldest
    first, as a frame with exactly ``REPORT_DATES_SCHEMA`` (empty when nothing was pulled)."""
    table = ReportDayRecord.__table__  # type: ignore[attr-defined]
    query = (
        select(table.c.source, table.c.date)
        .where(table.c.profile_id == profile_id, table.c.date >= since)
        .order_by(table.c.source, table.c.date)
    )
    rows = [{"source": source, "date": day} for source, day in connection.execute(query)]
    return frame(REPORT_DATES_SCHEMA, rows)
