"""The profile's business date: the calendar day, in the profile's time zone, that a moment falls on.

Owns the one conversion from an aware UTC datetime to a report day: report days are dates in the
profile's time zone, converted here and nowhere else; the engine, the cycle and the rule tests all
call it. It must not read the clock: ``now`` is always given, and a naive one is refused rather
than read as the machine's local time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["business_date"]


def business_date(now: datetime, timezone: str) -> date:
    """The profile's calendar date at ``now``: the day a daily cycle and its windows belong to."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(ZoneInfo(timezone)).date()
