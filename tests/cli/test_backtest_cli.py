"""``bidagent backtest``: options, JSON on stdout, the table, the HTML report, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bidagent.cli.app import app

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--days", "2", "--targets", "30", "--seed", "3"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "bidagent.toml"
    path.write_text(
        f'rules_dir = "{REPO / "rules"}"\n[database]\nurl = "sqlite:///{tmp_path}/user.db"\n',
        encoding="utf-8",
    )
    return path


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "backtest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_gives_all_three_arms_and_writes_the_report(config: Path, tmp_path: Path) -> None:
    """--format json prints one document with rules, none and oracle; --report writes HTML."""
    report = tmp_path / "out" / "report.html"
    code, out, _ = _run(config, *SMALL, "--format", "json", "--report", str(report))
    assert code == 0
    payload = json.loads(out)
    assert [row["arm"] for row in payload["comparison"]] == ["rules", "none", "oracle"]
    assert payload["spec"] == {
        "days": 2, "seed": 3, "scenario": "steady", "targets": 30, "history_days": 60,
        "review_policy": "reject",
    }  # fmt: skip
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not (tmp_path / "user.db").exists(), "the user's ledger must not be touched"


def test_table_names_the_scenario_and_the_review_policy(config: Path) -> None:
    """The table output has a title with the scenario and a line on review decisions."""
    code, out, _ = _run(config, *SMALL, "--scenario", "overbid", "--baseline", "none")
    assert code == 0
    assert "backtest overbid seed 3, 2 days" in out
    assert "decided (policy reject)" in out
    assert "oracle" not in out


def test_bad_options_are_refused(config: Path) -> None:
    """An unknown scenario, review policy or baseline exits 1 with one error line."""
    cases = [
        (["--scenario", "moon"], "unknown scenario 'moon'"),
        (["--review", "maybe"], "--review must be approve or reject"),
        (["--baseline", "nowhere"], "neither none, oracle nor a rule folder"),
    ]
    for args, message in cases:
        code, _, err = _run(config, *SMALL, *args)
        assert (code, message in err) == (1, True), err


def test_margin_target_sets_the_rule_arms_targets(config: Path) -> None:
    """--margin-target gives the rules arm margin-based targets; none and oracle keep none."""
    code, out, _ = _run(
        config, *SMALL, "--baseline", "none", "--margin-target", "0.75", "-f", "json"
    )
    assert code == 0
    payload = json.loads(out)
    arms = {arm["name"]: arm for arm in payload["arms"]}
    assert arms["rules"]["margin_target"] == 0.75
    assert 0.75 * 0.15 <= arms["rules"]["target_acos"] <= 0.75 * 0.45
    assert (arms["none"]["margin_target"], arms["none"]["target_acos"]) == (None, None)
    rows = {row["arm"]: row for row in payload["comparison"]}
    assert rows["rules"]["target_acos"] == arms["rules"]["target_acos"]
    assert rows["none"]["target_acos"] == 0.3
    code, _, err = _run(config, *SMALL, "--margin-target", "0")
    assert code == 2 and "--margin-target" in err


def test_seeds_give_a_verdict_with_its_spread_and_progress_on_stderr(config: Path) -> None:
    """--seeds 2 runs seeds 3 and 4; the JSON verdict holds rules minus none per seed and its
    line; stderr (not a terminal here) tells each arm's days as they pass."""
    code, out, err = _run(config, *SMALL, "--baseline", "none", "--seeds", "2", "-f", "json")
    assert code == 0, err
    payload = json.loads(out)
    runs = payload["runs"]
    assert [r["spec"]["seed"] for r in runs] == [3, 4]
    differences = [
        round(
            next(a for a in r["arms"] if a["name"] == "rules")["totals"]["profit"]
            - next(a for a in r["arms"] if a["name"] == "none")["totals"]["profit"],
            2,
        )
        for r in runs
    ]
    verdict = payload["verdict"]
    assert (verdict["reference"], verdict["seeds"], verdict["differences"]) == (
        "none",
        2,
        differences,
    )
    better = sum(1 for d in differences if d > 0)
    assert verdict["line"].startswith(
        f"Verdict: rules earned more profit than none on {better} of 2 seeds over 2 days: "
    )
    lines = err.splitlines()
    for seed in (3, 4):
        for arm in ("rules", "none"):
            assert f"backtest seed {seed} {arm}: day 2/2" in lines, err


def test_the_table_ends_with_the_verdict_against_the_folder_baseline(
    config: Path, tmp_path: Path
) -> None:
    """With --baseline DIR the rules are judged against that folder: the impact tables name it
    and the last line is the verdict."""
    folder = tmp_path / "mine"
    folder.mkdir()
    for rule in (REPO / "rules").glob("*.yaml"):
        (folder / rule.name).write_text(rule.read_text())
    code, out, err = _run(config, *SMALL, "--baseline", str(folder))
    assert code == 0, err
    assert "(vs baseline:mine)" in out
    assert (
        out.splitlines()[-1] == "Verdict: rules earned the same profit as baseline:mine over 2 days"
    )
