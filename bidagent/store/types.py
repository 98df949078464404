"""Column types that behave the same on SQLite and PostgreSQL, and SQLite's datetime text.

SQLite has no time zones: ``UTCDateTime`` stores naive UTC and hands back aware UTC datetimes, so
code above the store never sees a naive datetime, whichever database is behind it. On SQLite
SQLAlchemy stores a DATETIME as text in :data:`SQLITE_DATETIME_FORMAT`; code that binds values
at the driver level (bulk inserts, the columnar reads) writes and parses that text with the
helpers here, so there is one spelling of it. Nothing here queries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "SQLITE_DATETIME_FORMAT",
    "SQLITE_DATETIME_PARSE_FORMAT",
    "UTCDateTime",
    "driver_datetime",
    "sqlite_datetime_text",
    "utcnow",
]

# SQLAlchemy's own storage format of a DATETIME on SQLite (naive UTC, microseconds always written).
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# The same text as polars parses it (``%.f``: the fraction with its dot, of any length).
SQLITE_DATETIME_PARSE_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def utcnow() -> datetime:
    """The current time, aware, in UTC. Only the CLI and the daemon should call this."""
    return datetime.now(UTC)


def sqlite_datetime_text(moment: datetime) -> str:
    """``moment`` as SQLAlchemy stores it on SQLite: an aware one converted to naive UTC first, a
    naive one written as it is."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(SQLITE_DATETIME_FORMAT)


def driver_datetime(dialect: str, moment: datetime) -> datetime | str:
    """``moment`` as a driver-level parameter on ``dialect``: SQLite's text, else the datetime."""
    return sqlite_datetime_text(moment) if dialect == "sqlite" else moment


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: bidagent stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
