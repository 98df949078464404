"""The simulated marketplace: determinism, the clock, persistence, and the traffic model's laws."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from bidagent.errors import SandboxError
from bidagent.sandbox import Sandbox
from bidagent.sandbox.traffic import cpc_expr, hour_mass, share_expr


def _facts(sandbox: Sandbox) -> pl.DataFrame:
    return sandbox.store.frame("SELECT * FROM facts ORDER BY day, sim_key")


def test_same_seed_same_account_and_history(tmp_path: Path) -> None:
    """Two sandboxes from one seed hold identical entities and identical history."""
    a = Sandbox.open(tmp_path / "a", seed=3, targets=50, history_days=10)
    b = Sandbox.open(tmp_path / "b", seed=3, targets=50, history_days=10)
    assert a.profiles == b.profiles
    assert a.store.frame("SELECT * FROM entities ORDER BY seq").equals(
        b.store.frame("SELECT * FROM entities ORDER BY seq")
    )
    assert _facts(a).equals(_facts(b))
    a.close()
    b.close()


def test_fresh_sandbox_has_the_requested_history(tmp_path: Path) -> None:
    """A fresh sandbox starts with 60 days of history ending yesterday, at local midnight."""
    box = Sandbox.open(tmp_path / "s", targets=40)
    days = box.store.frame("SELECT DISTINCT day FROM facts ORDER BY day")["day"].to_list()
    assert len(days) == 60
    assert box.now == datetime(2025, 6, 2, 7, 0, tzinfo=UTC)  # midnight in Los Angeles
    assert days[-1] == (box.today(box.profiles[0]).toordinal() - 719163) - 1
    box.close()


def test_clock_moves_only_forward_and_persists(tmp_path: Path) -> None:
    """advance() moves the clock, books traffic, and a reopened sandbox sees the same state."""
    box = Sandbox.open(tmp_path / "s", targets=40, history_days=5)
    before = _facts(box)["clicks"].sum()
    box.advance(days=1, hours=6)
    assert box.now == datetime(2025, 6, 3, 13, 0, tzinfo=UTC)
    after = _facts(box)["clicks"].sum()
    assert after > before
    with pytest.raises(SandboxError):
        box.advance(hours=-1)
    box.close()
    again = Sandbox.open(tmp_path / "s", seed=999)
    assert (again.now, again.seed, _facts(again)["clicks"].sum()) == (
        datetime(2025, 6, 3, 13, 0, tzinfo=UTC),
        7,
        after,
    )
    again.close()


def test_cpc_never_above_bid(sandbox: Sandbox) -> None:
    """Every booked day has cost <= clicks x the bid of that day."""
    facts = _facts(sandbox)
    assert facts.filter(pl.col("cost") > pl.col("clicks") * pl.col("bid") + 1e-9).height == 0


def test_budgets_cap_daily_spend(sandbox: Sandbox) -> None:
    """No campaign spends more than its daily budget on any day, and some hit it."""
    spend = sandbox.store.frame(
        "SELECT e.campaign_id, f.day, SUM(f.cost) AS spend, c.budget FROM facts f "
        "JOIN entities e ON e.sim_key = f.sim_key JOIN entities c ON c.kind = 'campaign' "
        "AND c.entity_id = e.campaign_id GROUP BY e.campaign_id, f.day"
    )
    assert spend.filter(pl.col("spend") > pl.col("budget") + 0.01).height == 0
    assert spend.filter(pl.col("spend") > pl.col("budget") * 0.9).height > 0


def test_impression_share_and_cpc_rise_with_bid() -> None:
    """Share rises with the bid (one half at the competitors' bid); CPC stays under the bid."""
    bids = pl.DataFrame({"bid": [0.1, 0.5, 1.0, 2.0, 8.0], "comp": [1.0] * 5})
    out = bids.with_columns(share=share_expr(pl.col("bid"), pl.col("comp"))).with_columns(
        cpc=cpc_expr(pl.col("bid"), pl.col("comp"))
    )
    shares = out["share"].to_list()
    assert shares == sorted(shares) and shares[2] == 0.5
    assert out.filter(pl.col("cpc") > pl.col("bid")).height == 0


def test_hour_curve_covers_the_day() -> None:
    """The hour-of-day curve sums to one day; evenings carry more traffic than nights."""
    assert hour_mass(0, 24) == pytest.approx(1.0)
    assert hour_mass(19, 20) > 5 * hour_mass(3, 4)


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    """An unknown scenario name is a SandboxError listing the known ones."""
    with pytest.raises(SandboxError, match="known: new_competitor, overbid, seasonal_spike"):
        Sandbox.open(tmp_path / "s", scenario="boom")


def test_reset_starts_over(sandbox: Sandbox) -> None:
    """reset() regenerates the account for a new seed and rewinds the clock."""
    old_profiles = sandbox.profiles
    sandbox.advance(days=2)
    sandbox.reset(seed=12)
    assert (sandbox.seed, sandbox.now) == (12, datetime(2025, 6, 2, 7, 0, tzinfo=UTC))
    assert sandbox.profiles != old_profiles
    assert sandbox.write_log() == []
