"""The backtest runner: arms on identical worlds, true accounting, review policy, JSON, HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bidagent.agent.backtest.arms import arm_settings, run_arm
from bidagent.agent.backtest.html_report import render_html_report
from bidagent.agent.backtest.margin_targets import margin_targets
from bidagent.agent.backtest.run import (
    ArmSpec,
    BacktestResult,
    BacktestSpec,
    arms_for,
    run_backtest,
)
from bidagent.errors import AgentError
from bidagent.sandbox import Sandbox
from bidagent.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
STARTER_RULES = REPO / "rules"
SPEC = BacktestSpec(days=4, seed=5, scenario="steady", targets=40)


def _settings(folder: Path) -> Settings:
    config = folder / "bidagent.toml"
    config.write_text(
        f'rules_dir = "{STARTER_RULES}"\n[database]\nurl = "sqlite:///{folder}/user.db"\n',
        encoding="utf-8",
    )
    return load_settings(config)


@pytest.fixture(scope="module")
def user_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _settings(tmp_path_factory.mktemp("user"))


@pytest.fixture(scope="module")
def result(user_settings: Settings) -> BacktestResult:
    """One short backtest shared by the tests that only read it."""
    return run_backtest(user_settings, SPEC, arms_for(STARTER_RULES, ["none", "oracle"]))


def test_every_arm_covers_the_same_days(result: BacktestResult) -> None:
    """Rules, none and oracle each report one row per simulated day, the same dates."""
    assert [a.name for a in result.arms] == ["rules", "none", "oracle"]
    dates = [[row["date"].isoformat() for row in a.daily] for a in result.arms]
    assert dates == [["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05"]] * 3


def test_oracle_earns_at_least_what_never_changing_bids_earns(result: BacktestResult) -> None:
    """The oracle's profit-maximising bids beat leaving bids alone on identical traffic."""
    oracle, none = result.arm("oracle"), result.arm("none")
    assert oracle is not None and none is not None
    assert oracle.totals["profit"] >= none.totals["profit"]
    assert oracle.bid_writes > 0 and none.bid_writes == 0


def test_the_none_arm_replays_identically(user_settings: Settings, tmp_path: Path) -> None:
    """Same seed and scenario, no changes: a second run reproduces the world day for day."""
    first = run_arm(user_settings, SPEC, ArmSpec("none", "none"), tmp_path / "a")
    second = run_arm(user_settings, SPEC, ArmSpec("none", "none"), tmp_path / "b")
    assert first.daily == second.daily
    assert first.daily[0]["impressions"] > 0


def test_rules_arm_runs_the_real_cycle_and_decides_every_item(result: BacktestResult) -> None:
    """One successful cycle per day; every review item decided by the reject policy or resolved."""
    rules = result.arm("rules")
    assert rules is not None
    assert rules.cycles == {"succeeded": SPEC.days}
    assert sum(rules.decisions.values()) == sum(rules.reviews_by_kind.values())
    assert set(rules.decisions) <= {"rejected", "resolved"}
    applied = sum(s.get("applied", 0) for s in rules.changes_by_rule.values())
    assert applied > 0


def test_comparison_shares_and_differences(result: BacktestResult) -> None:
    """Each arm's profit is compared with none (difference) and oracle (share)."""
    rows = {r["arm"]: r for r in result.comparison()}
    oracle, none = rows["oracle"], rows["none"]
    assert (oracle["share_of_oracle"], none["profit_vs_none"]) == (1.0, 0.0)
    for row in rows.values():
        assert row["profit_vs_none"] == round(row["profit"] - none["profit"], 2)
        assert row["share_of_oracle"] == round(row["profit"] / oracle["profit"], 4)
        assert row["acos"] == round(row["spend"] / row["sales"], 4)


def test_json_shape(result: BacktestResult) -> None:
    """The JSON document has its documented keys and survives a round trip."""
    payload = json.loads(json.dumps(result.to_json()))
    assert sorted(payload) == ["arms", "comparison", "impact", "spec", "target_acos", "window"]
    assert payload["window"] == {"first": "2025-06-02", "last": "2025-06-05"}
    assert payload["spec"] == {
        "days": 4, "seed": 5, "scenario": "steady", "targets": 40, "history_days": 60,
        "review_policy": "reject",
    }  # fmt: skip
    arm = payload["arms"][0]
    assert sorted(arm) == [
        "changes_by_rule", "currency", "cycles", "daily", "kind", "margin_target", "name",
        "oracle_bid_writes", "review_decisions", "reviews_by_kind", "rule_targets", "rules_dir",
        "target_acos", "totals",
    ]  # fmt: skip
    assert sorted(arm["daily"][0]) == [
        "acos", "clicks", "date", "impressions", "orders", "profit", "roas", "sales", "spend",
    ]  # fmt: skip
    assert sorted(payload["comparison"][0]) == sorted(
        [*arm["totals"], "arm", "profit_vs_none", "share_of_oracle", "target_acos",
         "acos_vs_target", "changes_applied", "review_items"]
    )  # fmt: skip


def test_approve_policy_applies_held_changes(user_settings: Settings) -> None:
    """With --review approve, items holding changes are approved and their changes applied."""
    spec = BacktestSpec(days=1, seed=5, targets=40, review_policy="approve")
    out = run_backtest(user_settings, spec, [ArmSpec("rules", "rules", STARTER_RULES)])
    rules = out.arms[0]
    assert rules.decisions.get("approved", 0) > 0
    assert "rejected" not in rules.decisions


def test_arm_settings_never_point_at_the_users_files(
    user_settings: Settings, tmp_path: Path
) -> None:
    """An arm's ledger and sandbox live in its folder; mode apply, no webhooks, no profiles."""
    own = arm_settings(user_settings, SPEC, tmp_path, STARTER_RULES)
    assert (own.database.url, own.sandbox.state_path) == (
        f"sqlite:///{tmp_path}/ledger.db",
        tmp_path / "sandbox.db",
    )
    assert (own.effective_mode, own.notify.webhooks, own.profiles) == ("apply", [], [])
    assert (own.sandbox.seed, own.sandbox.scenario, own.sandbox.targets) == (5, "steady", 40)


def test_arms_for_names_folder_baselines(tmp_path: Path) -> None:
    """A folder baseline becomes a rules arm named after the folder; nonsense is refused."""
    other = tmp_path / "aggressive"
    other.mkdir()
    arms = arms_for(STARTER_RULES, ["oracle", str(other), "oracle"])
    assert arms == [
        ArmSpec("rules", "rules", STARTER_RULES),
        ArmSpec("oracle", "oracle"),
        ArmSpec("baseline:aggressive", "rules", other),
    ]
    with pytest.raises(AgentError, match="neither none, oracle nor a rule folder"):
        arms_for(STARTER_RULES, ["nowhere"])
    with_margins = arms_for(STARTER_RULES, ["none", str(other)], margin_target=0.75)
    assert [a.margin_target for a in with_margins] == [0.75, None, 0.75]


def test_margin_target_arm_runs_with_each_campaigns_margin(
    user_settings: Settings, result: BacktestResult, tmp_path: Path
) -> None:
    """A margin-target arm acts on campaign target ACoS from margins; the flat arm does not."""
    spec = BacktestSpec(days=4, seed=5, scenario="steady", targets=40)
    arm = run_arm(user_settings, spec, ArmSpec("rules", "rules", STARTER_RULES, 0.5), tmp_path)
    box = Sandbox.open(tmp_path / "sandbox.db", seed=5, scenario="steady", targets=40)
    try:
        targets = margin_targets(box, box.profiles[0], 0.5)
    finally:
        box.close()
    assert arm.margin_target == 0.5
    assert arm.target_acos == round(sum(targets.values()) / len(targets), 4)
    flat = result.arm("rules")
    assert flat is not None and (flat.margin_target, flat.target_acos) == (None, None)
    # Margins run from 15% to 45%, so half of them is below the flat 30%: the rules cut more.
    assert arm.target_acos < 0.3
    assert arm.changes_by_rule != flat.changes_by_rule
    described = BacktestResult(spec, 0.3, [arm]).target_description()
    assert (
        described
        == f"target ACoS 0.5 x each campaign's product margin (mean {arm.target_acos:.1%})"
    )
    assert result.target_description() == "target ACoS 30%"
    row = BacktestResult(spec, 0.3, [arm]).comparison()[0]
    assert row["target_acos"] == arm.target_acos
    assert row["acos_vs_target"] == round(arm.totals["acos"] - arm.target_acos, 4)


def test_margin_targets_read_each_campaigns_product_margins(tmp_path: Path) -> None:
    """Every campaign with a product ad gets fraction x the mean margin of its products."""
    box = Sandbox.open(tmp_path / "sandbox.db", seed=5, scenario="steady", targets=40)
    try:
        profile = box.profiles[0]
        rows = box.store.query(
            "SELECT campaign_id, data FROM entities WHERE kind = 'product_ad' AND profile_id = ?",
            (profile,),
        )
        expected: dict[str, list[float]] = {}
        for row in rows:
            expected.setdefault(row["campaign_id"], []).append(json.loads(row["data"])["margin"])
        targets = margin_targets(box, profile, 0.8)
        with pytest.raises(AgentError, match="margin target fraction"):
            margin_targets(box, profile, 0)
    finally:
        box.close()
    assert targets == {c: round(0.8 * sum(m) / len(m), 4) for c, m in sorted(expected.items())}
    assert len(targets) >= 2 and all(0.12 <= t <= 0.36 for t in targets.values())


def test_html_report_is_self_contained(result: BacktestResult) -> None:
    """Four charts (profit first) with one line per arm, the change table, and nothing fetched."""
    html = render_html_report(result)
    charts = re.findall(r'<svg class="chart" data-metric="(\w+)"', html)
    assert charts == ["profit", "spend", "sales", "acos"]
    assert html.count('<polyline class="series"') == 4 * 3
    assert re.findall(r"<script|<link|src=|href=|@import|url\(", html) == []
    assert '<table class="changes">' in html and "bid-to-target-acos" in html
