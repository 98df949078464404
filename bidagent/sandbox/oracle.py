"""The oracle: hidden truths per target, profit-maximising bids, and true profit per day.

Owns what a decision-quality check or a backtest arm may know that an agent never sees: each
target's volume, CTR, CVR (after the negatives now in place), competitors' bid, price and
margin; ``optimal_bid`` from the same auction formulas and budget caps the simulation uses;
and the true accounting of spend, orders, sales and profit (product margins, fully attributed conversions).
It must never be used by the agent's decision path, and it must not write state.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from bidagent.errors import SandboxError
from bidagent.marketplaces import Marketplace, marketplace_for
from bidagent.sandbox.market import EPOCH, load_targets, term_factors
from bidagent.sandbox.traffic import cpc_expr, share_expr

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["Oracle", "TargetRef"]

TargetRef = str | tuple[str, str]  # an entity id, or (kind, entity id) when ids collide
_GRID = [0.05 * 1.03**i for i in range(160)]  # bid / competitors' bid, 0.05x .. ~5.5x
# Shadow prices of a campaign's budget (profit given up per unit of spend saved) to try.
_SHADOW = [0.0] + [0.01 * 1.4**i for i in range(24)]


class Oracle:
    """Read-only access to a sandbox's hidden truths and its true profit."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def _profile(self, profile_id: str | None) -> str:
        return profile_id or self.sandbox.profiles[0]

    def truths(self, profile_id: str | None = None) -> pl.DataFrame:
        """One row per keyword/target: ids, state, bid, and the truths behind its traffic."""
        profile = self._profile(profile_id)
        targets = load_targets(self.sandbox.store, profile)
        factors, _ = term_factors(self.sandbox.store, profile, targets)
        return (
            targets.join(factors, on="sim_key", how="left")
            .with_columns(
                active_weight=pl.col("active_weight").fill_null(0.0),
                cvr=pl.col("cvr") * pl.col("cvr_factor").fill_null(1.0),
            )
            .with_columns(value_per_click=pl.col("cvr") * pl.col("price") * pl.col("margin"))
            .select(
                "kind",
                "entity_id",
                "campaign_id",
                "ad_group_id",
                "state",
                "serving",
                "bid",
                "volume",
                "active_weight",
                "ctr",
                "cvr",
                "comp_bid",
                "price",
                "margin",
                "value_per_click",
                "weekly_amp",
                "weekly_peak",
                "sim_key",
            )
        )

    def truth(self, target: TargetRef, profile_id: str | None = None) -> dict[str, Any]:
        """The truths of one target (pass ``(kind, id)`` when a keyword and target share an id)."""
        frame = self.truths(profile_id)
        kind, entity_id = (None, target) if isinstance(target, str) else target
        rows = frame.filter(pl.col("entity_id") == entity_id)
        if kind is not None:
            rows = rows.filter(pl.col("kind") == kind)
        if rows.height != 1:
            found = "no" if rows.height == 0 else "several (pass (kind, id))"
            raise SandboxError(f"{found} keyword/target with id {entity_id}")
        return rows.row(0, named=True)

    def optimal_bids(self, day: date, profile_id: str | None = None) -> pl.DataFrame:
        """Per target, the bid maximising expected profit on ``day`` within campaign budgets.

        Expected profit = clicks x (cvr x price x margin - cpc(bid)); where no bid is
        profitable the answer is the marketplace minimum. A campaign's budget caps its spend
        within the day and the sandbox then serves every target of the campaign for the same
        fraction of the day, so the bids that are best one target at a time can be worse than
        lower bids once the budget binds: see :func:`_within_budget`.
        """
        profile = self._profile(profile_id)
        market = self._market(profile)
        scenario = self.sandbox.scenario
        rel_day = (day - self.sandbox_first_day()).days
        competition = scenario.competition_at(rel_day)
        grid = pl.DataFrame({"m": _GRID})
        low, high, step = float(market.min_bid), float(market.max_bid), float(market.step)
        weekday = float(((day - EPOCH).days + 3) % 7)  # the traffic model's weekday formula
        budgets = load_targets(self.sandbox.store, profile).select("sim_key", "budget")
        candidates = (
            self.truths(profile)
            .join(budgets, on="sim_key", how="left")
            .with_columns(
                # Expected searches on the day (the model's per-row noise has mean 1).
                searches=pl.col("volume")
                * pl.col("active_weight")
                * scenario.traffic_at(rel_day)
                * (
                    1.0
                    + pl.col("weekly_amp")
                    * (2.0 * math.pi * (weekday - pl.col("weekly_peak")) / 7.0).cos()
                )
            )
            .join(grid, how="cross")
            .with_columns(comp=pl.col("comp_bid") * competition)
            .with_columns(
                candidate=((pl.col("comp") * pl.col("m") / step).round() * step).clip(low, high)
            )
            .with_columns(
                share=share_expr(pl.col("candidate"), pl.col("comp")),
                cpc=cpc_expr(pl.col("candidate"), pl.col("comp")),
            )
            .with_columns(
                profit=pl.col("share")
                * pl.col("ctr")
                * (pl.col("value_per_click") - pl.col("cpc")),
                spend=pl.col("share") * pl.col("ctr") * pl.col("cpc"),
            )
        )
        best = _within_budget(candidates)
        return best.select(
            "kind",
            "entity_id",
            optimal_bid=pl.when(pl.col("profit") > 0).then(pl.col("candidate")).otherwise(low),
            expected_profit_per_search=pl.col("profit").clip(lower_bound=0.0),
        ).sort("kind", "entity_id")

    def optimal_bid(self, target: TargetRef, day: date, profile_id: str | None = None) -> float:
        """The profit-maximising bid of one target on ``day``."""
        truth = self.truth(target, profile_id)
        bids = self.optimal_bids(day, profile_id).filter(
            (pl.col("kind") == truth["kind"]) & (pl.col("entity_id") == truth["entity_id"])
        )
        return float(bids["optimal_bid"][0])

    def daily_profit(
        self, start: date | None = None, end: date | None = None, profile_id: str | None = None
    ) -> pl.DataFrame:
        """True spend, orders, sales and profit per local day (conversions fully attributed)."""
        profile = self._profile(profile_id)
        today = self.sandbox.today(profile)
        first = start or today - timedelta(days=30)
        last = end or today
        facts = self.sandbox.store.frame(
            "SELECT f.day, f.cost, f.clicks, f.impressions, f.orders, t.price, t.margin "
            "FROM facts f JOIN truths t ON t.sim_key = f.sim_key "
            "WHERE t.profile_id = ? AND f.day BETWEEN ? AND ?",
            (profile, (first - EPOCH).days, (last - EPOCH).days),
            schema={
                "day": pl.Int64,
                "cost": pl.Float64,
                "clicks": pl.Int64,
                "impressions": pl.Int64,
                "orders": pl.Int64,
                "price": pl.Float64,
                "margin": pl.Float64,
            },
        )
        return (
            facts.with_columns(sales=pl.col("orders") * pl.col("price"))
            .group_by("day")
            .agg(
                impressions=pl.col("impressions").sum(),
                clicks=pl.col("clicks").sum(),
                spend=pl.col("cost").sum().round(2),
                orders=pl.col("orders").sum(),
                sales=pl.col("sales").sum().round(2),
                profit=(pl.col("sales") * pl.col("margin") - pl.col("cost")).sum().round(2),
            )
            .sort("day")
            .with_columns(date=pl.lit(EPOCH) + pl.duration(days=pl.col("day")))
            .select("date", "impressions", "clicks", "spend", "orders", "sales", "profit")
        )

    def target_profit(self, start: date, end: date, profile_id: str | None = None) -> pl.DataFrame:
        """True spend, sales and profit per keyword or target over ``start..end``, with its
        campaign (id and name): what a backtest splits an arm's profit by."""
        profile = self._profile(profile_id)
        return self.sandbox.store.frame(
            "SELECT t.kind, t.entity_id, e.campaign_id, c.name AS campaign, "
            "SUM(f.cost) AS spend, SUM(f.orders * t.price) AS sales, "
            "SUM(f.orders * t.price * t.margin - f.cost) AS profit "
            "FROM facts f JOIN truths t ON t.sim_key = f.sim_key "
            "JOIN entities e ON e.sim_key = f.sim_key AND e.profile_id = t.profile_id "
            "LEFT JOIN entities c ON c.profile_id = e.profile_id AND c.kind = 'campaign' "
            "AND c.entity_id = e.campaign_id "
            "WHERE t.profile_id = ? AND f.day BETWEEN ? AND ? "
            "GROUP BY t.kind, t.entity_id, e.campaign_id, c.name",
            (profile, (start - EPOCH).days, (end - EPOCH).days),
            schema={
                "kind": pl.Utf8, "entity_id": pl.Utf8, "campaign_id": pl.Utf8,
                "campaign": pl.Utf8, "spend": pl.Float64, "sales": pl.Float64,
                "profit": pl.Float64,
            },
        )  # fmt: skip

    def profit(self, start: date, end: date, profile_id: str | None = None) -> float:
        """Total true profit over ``start..end`` inclusive."""
        return round(float(self.daily_profit(start, end, profile_id)["profit"].sum()), 2)

    def sandbox_first_day(self) -> date:
        """Day 0 of the run (scenario events are counted from it)."""
        return self.sandbox.start_date

    def _market(self, profile_id: str) -> Marketplace:
        country = next(
            p["country"] for p in self.sandbox.profile_rows() if p["profile_id"] == profile_id
        )
        return marketplace_for(country)


def _within_budget(candidates: pl.DataFrame) -> pl.DataFrame:
    """One candidate row per target: the best bids for its campaign's expected daily profit.

    For each shadow price ``s`` of the budget, every target takes the candidate maximising
    profit - s x spend (``s`` = 0 is the best bid one target at a time). The sandbox serves an
    over-budget campaign for ``budget / spend`` of the day, so a campaign expects
    ``profit x min(1, budget / spend)``; each campaign keeps the shadow price that maximises it.
    Targets that do not serve spend nothing and keep the unconstrained best.
    """
    shadow = pl.DataFrame({"shadow": _SHADOW})
    per_target = (
        candidates.join(shadow, how="cross")
        .with_columns(objective=pl.col("profit") - pl.col("shadow") * pl.col("spend"))
        .sort("objective", descending=True)
        .group_by("sim_key", "shadow", maintain_order=True)
        .first()
    )
    serving = pl.col("serving") & pl.col("budget").is_not_null()
    campaigns = (
        per_target.filter(serving)
        .group_by("campaign_id", "shadow")
        .agg(
            day_profit=(pl.col("searches") * pl.col("profit")).sum(),
            day_spend=(pl.col("searches") * pl.col("spend")).sum(),
            budget=pl.col("budget").first(),
        )
        .with_columns(
            expected=pl.col("day_profit")
            * pl.when(pl.col("day_spend") > pl.col("budget"))
            .then(pl.col("budget") / pl.col("day_spend"))
            .otherwise(1.0)
        )
        .sort("expected", "shadow", descending=[True, False])
        .group_by("campaign_id", maintain_order=True)
        .first()
        .select("campaign_id", chosen=pl.col("shadow"))
    )
    return (
        per_target.join(campaigns, on="campaign_id", how="left")
        .with_columns(chosen=pl.when(serving).then(pl.col("chosen").fill_null(0.0)).otherwise(0.0))
        .filter(pl.col("shadow") == pl.col("chosen"))
    )
