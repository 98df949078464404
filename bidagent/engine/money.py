"""Money bounds and steps for one proposal: floors and ceilings, max step, rounding to the market step.

Owns the arithmetic of guardrails 2 and 3 (so property tests can hit it directly). Floors and ceilings
intersect the marketplace's hard limits, the configuration and the rule's ``limits``; the tightest
wins. When the current value already sits outside them, the bounds win over the step limit.

:func:`limit_step` is the definition, one value at a time;
:func:`bidagent.engine.money_columns.limit_steps` gives exactly the same results for a whole column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import cached_property, lru_cache
from typing import NamedTuple

__all__ = ["Bounds", "Stepped", "bounds_for", "is_power_of_ten", "limit_step", "round_to_step"]


@dataclass(frozen=True)
class Bounds:
    """The floor and ceiling for one field of one rule, and where each came from."""

    low: float
    high: float
    low_source: str
    high_source: str

    @cached_property
    def low_money(self) -> Decimal:
        """``low`` as an exact decimal (computed once per rule, not once per proposal)."""
        return Decimal(repr(self.low))

    @cached_property
    def high_money(self) -> Decimal:
        """``high`` as an exact decimal."""
        return Decimal(repr(self.high))


def bounds_for(field: str, marketplace: object, guardrails: object, limits: object) -> Bounds:
    """Tightest floor and ceiling for ``field`` (bid-like or budget) over the three sources."""
    kind = "budget" if field == "budget" else "bid"
    low, low_source = float(getattr(marketplace, f"min_{kind}")), "marketplace"
    high, high_source = float(getattr(marketplace, f"max_{kind}")), "marketplace"
    for source, obj in (("config", guardrails), ("rule", limits)):
        lo, hi = getattr(obj, f"min_{kind}", None), getattr(obj, f"max_{kind}", None)
        if lo is not None and lo > low:
            low, low_source = float(lo), source
        if hi is not None and hi < high:
            high, high_source = float(hi), source
    if high < low:  # config ceiling under a marketplace floor: the floor (Amazon's rule) wins
        high, high_source = low, low_source
    return Bounds(low, high, low_source, high_source)


class Stepped(NamedTuple):
    """The value after floors, ceilings and the step limit, with the notes that explain it.

    A named tuple, not a frozen dataclass: one is built per proposal, and tuples build fastest.
    """

    value: Decimal
    notes: list[str]
    step: float | None  # relative step from old to value
    needs_approval: bool


@lru_cache(maxsize=16)
def is_power_of_ten(step: Decimal) -> bool:
    """Whether ``step`` is 1, 0.1, 0.01, ...: quantizing to such a step needs no division."""
    return step.as_tuple().digits == (1,)


def round_to_step(value: float, step: Decimal, rounding: str) -> Decimal:
    """``value`` on the step's grid, from its shortest decimal text (so 0.1 stays 0.1)."""
    amount = Decimal(repr(float(value)))
    if is_power_of_ten(step):  # 0.01, 1, ...: quantizing to the step is the same, and faster
        return amount.quantize(step, rounding=rounding)
    return (amount / step).quantize(Decimal(1), rounding=rounding) * step


def limit_step(
    old: float | None,
    raw: float,
    bounds: Bounds,
    max_step: float | None,
    approval_over: float | None,
    money_step: Decimal,
) -> Stepped:
    """Clamp ``raw`` into ``bounds``, then limit the step from ``old`` (or flag it for approval)."""
    notes: list[str] = []
    value = raw
    if value < bounds.low:
        notes.append(f"floor: {raw:.4g} raised to {bounds.low:g} ({bounds.low_source} min)")
        value = bounds.low
    elif value > bounds.high:
        notes.append(f"ceiling: {raw:.4g} lowered to {bounds.high:g} ({bounds.high_source} max)")
        value = bounds.high
    rounding = ROUND_HALF_EVEN
    step = None
    approval = False
    if old is not None and old > 0:
        step = abs(value - old) / old
        if approval_over is not None and step > approval_over + 1e-9:
            approval = True
            notes.append(f"step {step:.1%} over approval threshold {approval_over:.0%}: held")
        elif max_step is not None and step > max_step + 1e-9:
            limited = old * (1 + max_step) if value > old else old * (1 - max_step)
            limited = min(max(limited, bounds.low), bounds.high)
            notes.append(f"step: {value:.4g} limited to {limited:.4g} (max_step {max_step:.0%})")
            value = limited
            # Round toward the old value so rounding never pushes the step over the cap.
            rounding = ROUND_FLOOR if value > old else ROUND_CEILING
    rounded = round_to_step(value, money_step, rounding)
    if (
        rounding != ROUND_HALF_EVEN
        and old is not None
        and (float(rounded) - old) * (value - old) < 0
    ):
        rounded = round_to_step(
            old, money_step, ROUND_HALF_EVEN
        )  # no grid point within the step: stay
    if rounded < bounds.low_money:
        rounded = round_to_step(bounds.low, money_step, ROUND_CEILING)
    if rounded > bounds.high_money:
        rounded = round_to_step(bounds.high, money_step, ROUND_FLOOR)
    if old is not None and old > 0:
        step = abs(float(rounded) - old) / old
    return Stepped(rounded, notes, step, approval)
