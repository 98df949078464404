"""Durations as people write them in config and rule files: ``14d``, ``6h``, ``30m``, ``45s``.

One spelling per concept: a whole number and one unit letter. No compound forms (``1d6h``), no
ISO 8601, no bare numbers, so a value always reads the same way wherever it appears.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DURATION_PATTERN", "format_duration", "parse_duration"]

DURATION_PATTERN = r"^[0-9]{1,5}[dhms]$"
_RE = re.compile(DURATION_PATTERN)
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """Parse ``14d``/``6h``/``30m``/``45s``; raise ``ValueError`` naming the expected form."""
    if not isinstance(text, str) or not _RE.match(text.strip()):
        raise ValueError(
            f"bad duration {text!r}: expected a whole number and a unit d, h, m or s (e.g. '14d', '6h')"
        )
    value = text.strip()
    return timedelta(**{_UNITS[value[-1]]: int(value[:-1])})


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of ``delta`` in the same form ``parse_duration`` reads."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
