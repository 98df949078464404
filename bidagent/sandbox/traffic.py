"""The traffic model: from bids and hidden truths to impressions, clicks, cost and orders.

Owns the auction formulas (impression share rises with the bid against competitors' bids; CPC
never above the bid), the weekly and hour-of-day patterns, the budget cap within a day, seeded
per-row noise and the attribution lag (how much of a day's conversions a report can see yet).
Vectorised with polars over (target x day) so 20,000 targets x 60 days take seconds. It must not
touch storage, HTTP or the wall clock: callers pass frames and day numbers in, get frames out.
"""

from __future__ import annotations

import math

import polars as pl

from bidagent.sandbox.scenarios import Scenario

__all__ = ["cpc_expr", "hour_mass", "share_expr", "simulate", "uniform", "visible_fraction"]

SHARE_EXPONENT = 3.0
# Share of a day's searches in each local hour: quiet nights, a lunch bump, an evening peak.
_RAW_HOURS = (
    0.9,
    0.6,
    0.4,
    0.3,
    0.3,
    0.5,
    1.0,
    1.8,
    2.6,
    3.2,
    3.6,
    4.0,
    4.4,
    4.3,
    4.1,
    4.0,
    4.2,
    4.6,
    5.3,
    6.0,
    6.2,
    5.4,
    3.6,
    1.9,
)
HOUR_CURVE = tuple(h / sum(_RAW_HOURS) for h in _RAW_HOURS)
_CUMULATIVE = tuple(sum(HOUR_CURVE[:i]) for i in range(25))
_MANTISSA = float(2**53)


def hour_mass(start_hour: float, end_hour: float) -> float:
    """Share of a day's traffic between two local clock hours (0..24), linear within an hour."""

    def cumulative(hour: float) -> float:
        hour = min(max(hour, 0.0), 24.0)
        whole = min(int(hour), 23)
        return _CUMULATIVE[whole] + (hour - whole) * HOUR_CURVE[whole]

    return max(0.0, cumulative(end_hour) - cumulative(start_hour))


def _u64(value: int) -> pl.Expr:
    return pl.lit(value & 0xFFFFFFFFFFFFFFFF, dtype=pl.UInt64)


def uniform(seed: int, stream: int, *keys: str) -> pl.Expr:
    """A seeded uniform in (0, 1) per row: splitmix64 of the key columns (no RNG state).

    Written in plain wrapping u64 arithmetic rather than ``Expr.hash`` so the draws stay the
    same across polars versions.
    """
    mixed = _u64(seed * 0x2545F4914F6CDD1D + stream * 0x9E3779B97F4A7C15)
    for index, key in enumerate(keys):
        mixed = (mixed ^ pl.col(key).cast(pl.UInt64)) * _u64(0xFF51AFD7ED558CCD + 2 * index)
    z = mixed + _u64(0x9E3779B97F4A7C15)
    z = (z ^ (z // _u64(1 << 30))) * _u64(0xBF58476D1CE4E5B9)
    z = (z ^ (z // _u64(1 << 27))) * _u64(0x94D049BB133111EB)
    z = z ^ (z // _u64(1 << 31))
    return ((z // _u64(2048)).cast(pl.Float64) + 0.5) / _MANTISSA


def share_expr(bid: pl.Expr, comp_bid: pl.Expr) -> pl.Expr:
    """Impression share: rises smoothly with the bid, one half when bid equals competitors'."""
    ratio = (comp_bid / bid).pow(SHARE_EXPONENT)
    return 1.0 / (1.0 + ratio)


def cpc_expr(bid: pl.Expr, comp_bid: pl.Expr) -> pl.Expr:
    """Cost per click: rises with the bid (outbidding stronger rivals costs more), never above
    95% of the bid; about 95% of competitors' bid when bidding level with them."""
    return pl.min_horizontal(bid * 0.95, comp_bid * 0.55 + bid * 0.4)


def _count(mean: pl.Expr, u1: pl.Expr, u2: pl.Expr) -> pl.Expr:
    """A Poisson-like integer with this mean: stochastic rounding when small, normal when large."""
    small = mean.floor() + (u1 < mean - mean.floor()).cast(pl.Float64)
    z = (-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()
    large = (mean + mean.sqrt() * z).round().clip(lower_bound=0.0)
    return pl.when(mean < 3.0).then(small).otherwise(large).cast(pl.Int64)


def simulate(
    targets: pl.DataFrame,
    days: pl.DataFrame,
    spent: pl.DataFrame,
    *,
    mass: float,
    seed: int,
    segment: int,
    scenario: Scenario,
) -> pl.DataFrame:
    """Activity of serving targets over ``days`` for one slice of each day.

    ``targets``: sim_key, campaign_id, bid, volume, ctr, cvr, comp_bid, weekly_amp, weekly_peak,
    active_weight, cvr_factor, budget. ``days``: day (epoch day), rel_day (0 = first live day).
    ``spent``: campaign_id, day, spent (cost already booked that day). ``mass`` is the slice's
    share of daily traffic, ``segment`` its start minute (so slices draw different noise).
    Returns sim_key, campaign_id, day, impressions, clicks, cost, orders, bid (rows with
    impressions only).
    """
    rel = pl.col("rel_day")
    weekday = ((pl.col("day") + 3) % 7).cast(pl.Float64)  # 1970-01-01 was a Thursday
    frame = (
        targets.join(days, how="cross")
        .with_columns(pl.lit(segment).alias("segment"))
        .with_columns(
            comp=pl.col("comp_bid") * scenario.competition_factor(rel),
            weekly=1.0
            + pl.col("weekly_amp")
            * (2.0 * math.pi * (weekday - pl.col("weekly_peak")) / 7.0).cos(),
            **{f"u{i}": uniform(seed, i, "sim_key", "day", "segment") for i in range(6)},
        )
        .with_columns(share=share_expr(pl.col("bid"), pl.col("comp")))
        .with_columns(
            mean_imps=pl.col("volume")
            * pl.col("active_weight")
            * pl.col("weekly")
            * scenario.traffic_factor(rel)
            * (0.6 + 0.8 * pl.col("u0"))
            * mass
            * pl.col("share"),
            cpc=cpc_expr(pl.col("bid"), pl.col("comp")),
        )
        .with_columns(impressions=_count(pl.col("mean_imps"), *_us(1, 2)))
        .with_columns(
            clicks=pl.min_horizontal(
                _count(pl.col("impressions") * pl.col("ctr"), *_us(3, 4)), pl.col("impressions")
            )
        )
        .with_columns(raw_cost=pl.col("clicks") * pl.col("cpc"))
    )
    # The budget caps spend within the day: a campaign whose slice would overspend what is left
    # of its budget stops serving part-way, so all its targets lose the same fraction.
    frame = (
        frame.join(spent, on=["campaign_id", "day"], how="left")
        .with_columns(
            left=(pl.col("budget") - pl.col("spent").fill_null(0.0)).clip(lower_bound=0.0),
            total=pl.col("raw_cost").sum().over("campaign_id", "day"),
        )
        .with_columns(
            served=pl.when(pl.col("total") > pl.col("left"))
            .then(pl.col("left") / pl.col("total"))
            .otherwise(1.0)
        )
        .with_columns(
            clicks=(pl.col("clicks") * pl.col("served")).floor().cast(pl.Int64),
            impressions=(pl.col("impressions") * pl.col("served")).floor().cast(pl.Int64),
        )
        .with_columns(
            # Floor to the cent: cost/clicks never rounds above the bid.
            cost=(pl.col("clicks") * pl.col("cpc") * 100.0).floor() / 100.0,
            orders=pl.min_horizontal(
                _count(pl.col("clicks") * pl.col("cvr") * pl.col("cvr_factor"), *_us(5, 1)),
                pl.col("clicks"),
            ),
        )
        .filter(pl.col("impressions") > 0)
    )
    return frame.select(
        "sim_key", "campaign_id", "day", "impressions", "clicks", "cost", "orders", "bid"
    )


def _us(first: int, second: int) -> tuple[pl.Expr, pl.Expr]:
    return pl.col(f"u{first}"), pl.col(f"u{second}")


def visible_fraction(age_days: pl.Expr) -> pl.Expr:
    """Share of a day's 7-day conversions a report can see ``age_days`` after that day ended."""
    return (
        pl.when(age_days < 1)
        .then(0.6)
        .when(age_days < 2)
        .then(0.8)
        .when(age_days < 3)
        .then(0.88)
        .when(age_days < 5)
        .then(0.94)
        .when(age_days < 7)
        .then(0.98)
        .otherwise(1.0)
    )
