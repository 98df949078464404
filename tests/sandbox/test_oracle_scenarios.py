"""The oracle (truths, optimal bids, true profit) and the five scenarios."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bidagent.sandbox import SCENARIOS, Sandbox
from bidagent.sandbox.sandbox import START_DATE


def test_scenarios_are_the_documented_five() -> None:
    """Exactly the five backtest scenarios exist, each with a description."""
    assert sorted(SCENARIOS) == [
        "new_competitor",
        "overbid",
        "seasonal_spike",
        "steady",
        "underbid",
    ]
    assert all(s.description for s in SCENARIOS.values())


def test_optimal_bids_within_marketplace_limits(sandbox: Sandbox) -> None:
    """Every optimal bid lies in the US range, and beats the current bid in expected profit."""
    bids = sandbox.oracle.optimal_bids(START_DATE)
    assert bids.height == sandbox.oracle.truths().height
    assert bids.filter((pl.col("optimal_bid") < 0.02) | (pl.col("optimal_bid") > 1000)).height == 0
    one = bids.row(0, named=True)
    assert (
        sandbox.oracle.optimal_bid((one["kind"], one["entity_id"]), START_DATE)
        == one["optimal_bid"]
    )


def test_new_competitor_raises_optimal_bids_after_the_event(tmp_path: Path) -> None:
    """Competitors bid 40% more from day 14 on, so profitable targets' optimal bids rise."""
    box = Sandbox.open(tmp_path / "s", scenario="new_competitor", targets=40, history_days=2)
    before = box.oracle.optimal_bids(date(2025, 6, 10))["optimal_bid"].sum()
    after = box.oracle.optimal_bids(date(2025, 6, 20))["optimal_bid"].sum()
    assert after > before
    box.close()


def test_overbid_starts_above_underbid(tmp_path: Path) -> None:
    """The overbid account starts with higher bids and lower true profit than underbid's."""
    over = Sandbox.open(tmp_path / "o", scenario="overbid", targets=300, history_days=7)
    under = Sandbox.open(tmp_path / "u", scenario="underbid", targets=300, history_days=7)
    week = (date(2025, 5, 26), date(2025, 6, 1))
    assert over.oracle.truths()["bid"].median() > 3 * under.oracle.truths()["bid"].median()
    assert over.oracle.profit(*week) < under.oracle.profit(*week)
    over.close()
    under.close()


def test_seasonal_spike_doubles_traffic_for_a_week(tmp_path: Path) -> None:
    """Impressions in the spike week are well above normal (budgets cap part of the doubling)."""
    box = Sandbox.open(tmp_path / "s", scenario="seasonal_spike", targets=40, history_days=0)
    box.advance(days=21)
    days = box.oracle.daily_profit(date(2025, 6, 2), date(2025, 6, 22))
    normal = days.filter(pl.col("date") < date(2025, 6, 16))["impressions"].mean()
    spike = days.filter(pl.col("date") >= date(2025, 6, 16))["impressions"].mean()
    assert spike > 1.3 * normal
    box.close()


def test_daily_profit_is_the_true_accounting(sandbox: Sandbox) -> None:
    """Profit per day equals sales x margin - spend over the booked facts."""
    day = date(2025, 6, 1)
    row = sandbox.oracle.daily_profit(day, day).row(0, named=True)
    facts = sandbox.store.frame(
        "SELECT f.cost, f.orders, t.price, t.margin FROM facts f JOIN truths t "
        "ON t.sim_key = f.sim_key WHERE f.day = ?",
        ((day - date(1970, 1, 1)).days,),
    )
    expected = (facts["orders"] * facts["price"] * facts["margin"] - facts["cost"]).sum()
    assert row["profit"] == pytest.approx(expected, abs=0.01)
    assert row["spend"] == pytest.approx(facts["cost"].sum(), abs=0.01)


def test_negatives_remove_search_term_traffic(sandbox: Sandbox) -> None:
    """A negative exact on a target's main search term lowers its served weight in the truths."""
    truths = sandbox.oracle.truths().filter(pl.col("kind") == "keyword")
    keyword = sandbox.store.query(
        "SELECT * FROM entities WHERE kind = 'keyword' AND entity_id = ?", (truths["entity_id"][0],)
    )[0]
    with sandbox.store.transaction() as conn:
        sandbox.store.insert_entities(
            conn,
            [
                {
                    "profile_id": keyword["profile_id"],
                    "kind": "negative_keyword",
                    "entity_id": "1",
                    "campaign_id": keyword["campaign_id"],
                    "ad_group_id": keyword["ad_group_id"],
                    "state": "ENABLED",
                    "bid": None,
                    "budget": None,
                    "name": None,
                    "text": keyword["text"],
                    "match_type": "NEGATIVE_EXACT",
                    "expression": None,
                    "expression_type": None,
                    "data": "{}",
                    "sim_key": None,
                }
            ],
        )
    after = sandbox.oracle.truth(("keyword", keyword["entity_id"]))["active_weight"]
    assert after < truths["active_weight"][0]


def _campaign_budgets(box: Sandbox, budget: float) -> None:
    with box.store.transaction() as conn:
        conn.execute("UPDATE entities SET budget = ? WHERE kind = 'campaign'", (budget,))


def test_optimal_bids_respect_campaign_budgets(tmp_path: Path) -> None:
    """A binding budget lowers the oracle's bids: it buys the cheaper clicks, not the capped day."""
    box = Sandbox.open(tmp_path / "s", targets=40, history_days=2)
    day = date(2025, 6, 10)
    _campaign_budgets(box, 1_000_000.0)
    free = box.oracle.optimal_bids(day).rename({"optimal_bid": "free"})
    _campaign_budgets(box, 1.0)
    tight = box.oracle.optimal_bids(day).join(free, on=["kind", "entity_id"])
    box.close()
    assert tight.filter(pl.col("optimal_bid") > pl.col("free")).height == 0
    assert tight.filter(pl.col("optimal_bid") < pl.col("free")).height > tight.height // 2


def test_oracle_beats_unchanged_bids_on_the_underbid_account(tmp_path: Path) -> None:
    """Under-bid campaigns have small budgets; the oracle's bids still earn more than the old ones."""
    from bidagent.agent.backtest.run import BacktestSpec, arms_for, run_backtest
    from bidagent.settings import Settings

    spec = BacktestSpec(days=4, seed=1, scenario="underbid", targets=300, history_days=7)
    result = run_backtest(Settings(), spec, arms_for(tmp_path, ["none", "oracle"])[1:])
    none, oracle = (result.arm(name) for name in ("none", "oracle"))
    assert none is not None and oracle is not None
    assert oracle.totals["profit"] > none.totals["profit"]
