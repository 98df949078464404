"""Five-field cron expressions for dayparting, evaluated against a given local time.

Owns parsing ``minute hour day-of-month month day-of-week`` (``*``, ``a-b``, ``*/n``, ``a-b/n``,
lists; Sunday is 0 or 7) and answering "is this period active at ``now``". It must not read the
clock: callers pass ``now``, already converted to the profile's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bidagent.durations import parse_duration

__all__ = ["Cron", "is_active", "parse_cron", "parse_until"]

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_LOOKBACK_DAYS = 400  # a yearly cron still finds its last fire time


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression: the allowed values of each field."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def matches_day(self, day: datetime) -> bool:
        """Whether this cron fires on the calendar day of ``day`` (standard day-field OR rule)."""
        if day.month not in self.months:
            return False
        weekday = (day.weekday() + 1) % 7  # cron: Sunday = 0
        dom, dow = day.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def last_fire(self, now: datetime) -> datetime | None:
        """The latest fire time at or before ``now`` (naive local time), within about a year."""
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for back in range(_LOOKBACK_DAYS):
            current = day - timedelta(days=back)
            if not self.matches_day(current):
                continue
            for hour in sorted(self.hours, reverse=True):
                for minute in sorted(self.minutes, reverse=True):
                    fire = current.replace(hour=hour, minute=minute)
                    if fire <= now:
                        return fire
        return None


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"bad step in {name} field {text!r}")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"bad range in {name} field {text!r}")
            start, end = int(a), int(b)
        elif part.isdigit():
            start = end = int(part)
            if step > 1:
                end = high
        else:
            raise ValueError(f"bad {name} field {text!r}")
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"{name} field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(text: str) -> Cron:
    """Parse a five-field cron expression; raise ``ValueError`` naming the bad field."""
    parts = text.split() if isinstance(text, str) else []
    if len(parts) != 5:
        raise ValueError(f"bad cron {text!r}: expected 5 fields 'minute hour day month weekday'")
    sets = [_field(p, name, lo, hi) for p, (name, lo, hi) in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(0 if d == 7 else d for d in sets[4])
    return Cron(
        text, sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*"
    )


def parse_until(text: str) -> Cron | timedelta:
    """``until`` is a cron expression or a duration such as ``8h``."""
    if isinstance(text, str) and len(text.split()) == 1:
        return parse_duration(text)
    return parse_cron(text)


def is_active(start: Cron, until: Cron | timedelta, now: datetime) -> bool:
    """Whether the period that ``start`` opens and ``until`` closes contains ``now`` (local, naive)."""
    began = start.last_fire(now)
    if began is None:
        return False
    if isinstance(until, timedelta):
        return now < began + until
    ended = until.last_fire(now)
    return ended is None or ended < began
