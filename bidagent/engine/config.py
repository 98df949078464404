"""The engine's own configuration types: the safety mode and the guardrail limits, already parsed.

Owns :data:`Mode` (the one spelling of the safety modes, which :mod:`bidagent.settings` reuses) and
:class:`GuardrailConfig`: the limits every rule gets, durations as ``timedelta``. The engine imports
nothing from :mod:`bidagent.settings`: the agent converts the parsed TOML into these types, and rule
tests build them from their ``settings.guardrails`` mapping with :meth:`GuardrailConfig.from_mapping`.
It must not read files or the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Literal

from bidagent.durations import parse_duration

__all__ = ["GuardrailConfig", "Mode"]

Mode = Literal["dry_run", "review", "apply"]

_DURATIONS = ("cooldown", "external_edit_cooldown", "settle", "max_data_age")
_COUNTS = ("max_changes_per_cycle",)
_FRACTIONS = ("max_step", "max_changes_pct")  # 0.3 is 30%; the TOML allows up to 10 (1,000%)


@dataclass(frozen=True)
class GuardrailConfig:
    """Limits applied to every rule; a rule may only tighten them (defaults as in the TOML)."""

    min_bid: float | None = None
    max_bid: float | None = None
    min_budget: float | None = None
    max_budget: float | None = None
    max_step: float = 0.5
    cooldown: timedelta = timedelta(days=3)
    # How long a field edited outside bidagent rests; None: ``cooldown``.
    external_edit_cooldown: timedelta | None = None
    settle: timedelta = timedelta(days=2)
    max_data_age: timedelta = timedelta(days=3)
    max_changes_per_cycle: int = 500
    max_changes_pct: float = 0.25

    def __post_init__(self) -> None:
        for low, high in (("min_bid", "max_bid"), ("min_budget", "max_budget")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} ({lo}) is above {high} ({hi})")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GuardrailConfig:
        """A configuration from config-file spellings (``cooldown: 3d``); unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown guardrails key(s): {', '.join(unknown)}")
        return cls(**{name: _parsed(name, value) for name, value in values.items()})


def _parsed(name: str, value: Any) -> Any:
    """One value in the type its field holds, as the TOML loader would coerce it."""
    if name in _DURATIONS:
        return None if value is None else parse_duration(value)
    if value is None:
        return None
    number = int(value) if name in _COUNTS else float(value)
    if number < 0 or (name in _FRACTIONS and number > 10):
        raise ValueError(f"guardrails {name} out of range: {value!r}")
    return number
