"""Report coverage: which days each report source covered for one profile (``report_days``).

Owns writing the rows the cycle records after a successful report sync, and reading them into
the engine's ``report_dates`` frame. Without them the engine guesses coverage from the facts,
and a quiet day (a report with no rows) looks the same as a day whose report never arrived;
with them, a profile whose report sync keeps failing stops at the last day really pulled, and
the freshness guardrail holds its rules instead of letting them act on stale numbers.

It must not decide freshness (the engine does) nor when a sync counts as whole (the cycle does).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import delete
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, func, select

from bidagent.engine.inputs import REPORT_DATES_SCHEMA, frame
from bidagent.store.entities import ReportDayRecord
from bidagent.store.upsert import upsert_rows
from bidagent.vocabulary import REPORT_SOURCES, ReportSource

__all__ = ["REPORT_SOURCES", "has_report_days", "read_report_dates", "record_report_days"]


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


def has_report_days(engine: Engine, profile_id: str) -> bool:
    """Whether reports were ever pulled whole for this profile."""
    with Session(engine) as session:
        query = select(func.count()).where(ReportDayRecord.profile_id == profile_id)
        return bool(session.exec(query).one())


def record_report_days(
    engine: Engine,
    profile_id: str,
    start: date,
    end: date,
    *,
    pulled_at: datetime,
    withheld: tuple[ReportSource, ...] = (),
) -> None:
    """Record that every report source covered ``start..end`` (both included), except the
    ``withheld`` ones: their days in ``start..end`` are no longer covered (their facts failed a
    check), so the engine's freshness guardrail holds the rules that read them. One transaction.
    """
    rows = [
        {
            "profile_id": profile_id,
            "source": source,
            "date": start + timedelta(days=n),
            "pulled_at": pulled_at,
        }
        for source in REPORT_SOURCES
        if source not in withheld
        for n in range((end - start).days + 1)
    ]
    table = ReportDayRecord.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        if withheld:
            connection.execute(
                delete(table).where(
                    table.c.profile_id == profile_id,
                    table.c.source.in_(withheld),
                    table.c.date >= start,
                    table.c.date <= end,
                )
            )
        upsert_rows(connection, ReportDayRecord, rows)
