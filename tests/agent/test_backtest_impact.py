"""Did my edit help? The backtest's verdict against a rule-folder baseline on the same worlds,
and where the difference came from, per rule and per campaign."""

from __future__ import annotations

import re
import shutil
from html import escape
from pathlib import Path

import pytest

from bidagent.agent.backtest.html_report import ORACLE, render_html_report
from bidagent.agent.backtest.impact import campaign_impact, reference_arm, rule_impact, verdict
from bidagent.agent.backtest.run import BacktestResult, BacktestSpec, arms_for, run_backtest
from bidagent.marketplaces import format_money
from bidagent.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
SPEC = BacktestSpec(days=3, seed=5, scenario="steady", targets=40)
REMOVED = "bid-to-target-acos"


def _run(tmp_path: Path, baseline: Path) -> BacktestResult:
    config = tmp_path / "bidagent.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/user.db"\n', encoding="utf-8")
    arms = arms_for(REPO / "rules", [str(baseline), "none"])
    return run_backtest(load_settings(config), SPEC, arms)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    """The starter rules against the same rules without bid-to-target-acos."""
    folder = tmp_path_factory.mktemp("without-one-rule") / "old-rules"
    shutil.copytree(REPO / "rules", folder)
    (folder / f"{REMOVED}.yaml").unlink()
    (folder / f"{REMOVED}.test.yaml").unlink()
    return _run(tmp_path_factory.mktemp("edited"), folder)


def test_the_same_rules_as_baseline_earn_exactly_the_same(tmp_path: Path) -> None:
    """A baseline folder with the very same rules replays the same worlds: every difference is
    zero and the verdict says so."""
    same = tmp_path / "same"
    shutil.copytree(REPO / "rules", same)
    result = _run(tmp_path, same)
    assert reference_arm(result) is result.arm("baseline:same")
    assert {r["difference"] for r in campaign_impact(result)} == {0.0}
    assert {r["difference"] for r in rule_impact(result)} == {0.0}
    judged = verdict([result])
    assert judged is not None
    assert judged.line() == "Verdict: rules earned the same profit as baseline:same over 3 days"


def test_the_verdict_compares_the_rules_with_the_folder_baseline(edited: BacktestResult) -> None:
    """The verdict is the rules' profit minus the baseline folder's, with the share of it."""
    rules, base = edited.arm("rules"), edited.arm("baseline:old-rules")
    assert rules is not None and base is not None
    diff = round(rules.totals["profit"] - base.totals["profit"], 2)
    judged = verdict([edited])
    assert judged is not None and judged.differences == [diff]
    word = "more" if diff > 0 else "less"
    assert diff != 0
    assert judged.line() == (
        f"Verdict: rules earned {format_money(abs(diff), 'USD')} {word} profit than "
        f"baseline:old-rules over 3 days ({diff / abs(base.totals['profit']):+.1%})"
    )


def test_campaign_impact_adds_up_to_each_arms_profit(edited: BacktestResult) -> None:
    """Per campaign, the profits add up to each arm's total (to the cent, rounding aside)."""
    rows = campaign_impact(edited)
    rules, base = edited.arm("rules"), edited.arm("baseline:old-rules")
    assert rules is not None and base is not None
    assert sum(r["profit"] for r in rows) == pytest.approx(rules.totals["profit"], abs=0.05)
    assert sum(r["reference_profit"] for r in rows) == pytest.approx(
        base.totals["profit"], abs=0.05
    )
    assert [r["difference"] for r in rows] == sorted(
        (r["difference"] for r in rows), key=lambda d: -abs(d)
    )


def test_rule_impact_names_what_the_removed_rule_changed(edited: BacktestResult) -> None:
    """The rule the baseline lacks has its own row: the targets it changed, their profit here
    and in the baseline; the baseline's arm never changed them by that rule."""
    rows = {r["rule"]: r for r in rule_impact(edited)}
    rules = edited.arm("rules")
    assert rules is not None
    removed = rows[REMOVED]
    assert removed["targets"] == len(rules.rule_targets[REMOVED]) > 0
    assert removed["difference"] == round(removed["profit"] - removed["reference_profit"], 2)
    base = edited.arm("baseline:old-rules")
    assert base is not None and REMOVED not in base.rule_targets


def test_the_report_has_the_verdict_profit_chart_impact_and_the_oracle(
    edited: BacktestResult,
) -> None:
    """The HTML report leads with the verdict and what the oracle is, draws profit per day, has
    the impact tables, and writes money in dollars with thousands separated."""
    html = render_html_report(edited)
    judged = verdict([edited])
    assert judged is not None
    assert f'<p class="verdict"><strong>{escape(judged.line())}</strong></p>' in html
    assert escape(ORACLE) in html
    assert re.findall(r'data-metric="(\w+)"', html)[0] == "profit"
    assert '<table class="impact-rules">' in html and '<table class="impact-campaigns">' in html
    rules = edited.arm("rules")
    assert rules is not None
    assert f"<td>{format_money(rules.totals['spend'], 'USD')}</td>" in html
