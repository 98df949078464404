"""The named market scenarios a sandbox can run: seeded, documented configurations.

Owns the scenario table and the per-day multipliers a scenario applies to traffic and to
competitors' bids. It must not know about entities, HTTP or storage: the traffic model asks it for
polars expressions over a ``day`` column (day index, 0 = the sandbox's first live day; history days
are negative) and the catalog asks it how far the starting bids sit from the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bidagent.errors import SandboxError

__all__ = ["SCENARIOS", "Scenario", "scenario_for"]


@dataclass(frozen=True)
class Scenario:
    """How one simulated market behaves over time.

    ``start_bid_factor`` scales every starting bid against competitors' bids (1.0 = bid near the
    market). Events start on ``event_day`` (0 = the first day after the generated history):
    ``traffic_multiplier`` applies for ``event_days`` days, ``competitor_multiplier`` from
    ``event_day`` on, for the rest of the run.
    """

    name: str
    description: str
    countries: tuple[str, ...] = ("US",)
    start_bid_factor: float = 1.0
    event_day: int = 14
    event_days: int = 7
    traffic_multiplier: float = 1.0
    competitor_multiplier: float = 1.0

    def traffic_factor(self, day: pl.Expr) -> pl.Expr:
        """Multiplier on search volume for each day index in ``day``."""
        if self.traffic_multiplier == 1.0:
            return pl.lit(1.0)
        inside = (day >= self.event_day) & (day < self.event_day + self.event_days)
        return pl.when(inside).then(pl.lit(self.traffic_multiplier)).otherwise(pl.lit(1.0))

    def competition_factor(self, day: pl.Expr) -> pl.Expr:
        """Multiplier on competitors' bids for each day index in ``day``."""
        if self.competitor_multiplier == 1.0:
            return pl.lit(1.0)
        after = day >= self.event_day
        return pl.when(after).then(pl.lit(self.competitor_multiplier)).otherwise(pl.lit(1.0))

    def traffic_at(self, day: int) -> float:
        """Scalar form of :meth:`traffic_factor` (the oracle uses it)."""
        inside = self.event_day <= day < self.event_day + self.event_days
        return self.traffic_multiplier if inside else 1.0

    def competition_at(self, day: int) -> float:
        """Scalar form of :meth:`competition_factor`."""
        return self.competitor_multiplier if day >= self.event_day else 1.0


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("steady", "A stable market: starting bids scattered around competitors' bids."),
        Scenario(
            "seasonal_spike",
            "Search volume doubles for one week starting on day 14, then returns to normal.",
            traffic_multiplier=2.0,
        ),
        Scenario(
            "new_competitor",
            "A new competitor enters on day 14: competitors' bids rise 40% for the rest of the run.",
            competitor_multiplier=1.4,
        ),
        Scenario(
            "overbid",
            "The account starts badly over-bid: every bid about 2.5x the market.",
            start_bid_factor=2.5,
        ),
        Scenario(
            "underbid",
            "The account starts under-bid: every bid about 0.4x the market, losing impressions.",
            start_bid_factor=0.4,
        ),
    )
}


def scenario_for(name: str) -> Scenario:
    """The scenario called ``name``; a :class:`SandboxError` lists the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise SandboxError(f"unknown sandbox scenario {name!r}; known: {known}") from None
