"""`bidagent rules ...` (the sub-app, invoked directly): exit codes and output of check, test, schema and explain."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bidagent.cli.rules import rules_app as app

RULES = Path(__file__).resolve().parents[2] / "rules"
runner = CliRunner()


def test_check_clean_starter_pack() -> None:
    """`rules check rules/` exits 0 on the starter pack."""
    result = runner.invoke(app, ["check", str(RULES)])
    assert (result.exit_code, result.stdout.startswith("ok: 13 rule(s) in 13 file(s)")) == (0, True)


def test_check_reports_problems_and_exits_1(tmp_path: Path) -> None:
    """A bad file prints each problem as path:line:col and exits 1."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {name: a, entity: keyword, when: clickz > 1, then: {bid: '-5%'}}\n")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:2:38: rule 'a': when: unknown name 'clickz' (did you mean 'clicks'?)"
    ]


def test_test_command_summary() -> None:
    """`rules test rules/` passes every starter test and prints the pytest-like summary."""
    result = runner.invoke(app, ["test", str(RULES)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].endswith(" passed, 0 failed")


def test_test_command_on_a_rule_file_runs_its_test_file() -> None:
    """`rules test rules/x.yaml` runs `rules/x.test.yaml`, the tests of the rule just edited."""
    by_rule = runner.invoke(app, ["test", str(RULES / "raise-winners.yaml")])
    by_test = runner.invoke(app, ["test", str(RULES / "raise-winners.test.yaml")])
    assert by_rule.exit_code == by_test.exit_code == 0
    assert by_rule.stdout == by_test.stdout
    assert by_rule.stdout.splitlines()[-1] == "8 passed, 0 failed"


def test_test_command_reports_a_failing_expectation(tmp_path: Path) -> None:
    """A wrong expected value is a failure naming the missing and the extra change."""
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - {name: r, entity: keyword, when: clicks >= 1, then: {bid: '-50%'}}\n"
    )
    (tmp_path / "r.test.yaml").write_text(
        "now: 2024-06-20T12:00:00Z\ntests:\n  - name: wrong\n"
        "    entities: {targets: [{entity_id: k1, keyword_text: a, bid: 1.0}]}\n"
        "    facts: [{entity_id: k1, days: 14, clicks: 3}]\n"
        "    expect: {changes: [{entity_id: k1, new: 0.40}]}\n"
    )
    result = runner.invoke(app, ["test", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (lines[0], lines[1].strip().startswith("missing change:"), lines[-1]) == (
        "FAILED r.test.yaml::wrong",
        True,
        "0 passed, 1 failed",
    )


def test_schema_command_prints_the_committed_schema() -> None:
    """`rules schema` prints JSON equal to rules/schema.json."""
    result = runner.invoke(app, ["schema"])
    assert json.loads(result.stdout) == json.loads((RULES / "schema.json").read_text())


def test_explain_against_a_test_file() -> None:
    """`rules explain --test` shows values, each sub-condition, and the planned change."""
    result = runner.invoke(
        app,
        [
            "explain",
            "bleeding-keywords",
            "--entity",
            "k1",
            "--test",
            str(RULES / "bleeding-keywords.test.yaml"),
        ],
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "rule 'bleeding-keywords' on entity k1",
        "values:",
        "  state = enabled",
        "  clicks = 20  [2024-06-04..2024-06-17]",
        "  orders = 0  [2024-06-04..2024-06-17]",
        "conditions:",
        "  yes  filter: state == 'enabled'",
        "  yes  when: clicks >= 15",
        "  yes  when: orders == 0",
        "outcome:",
        "  planned: bid 1.00 -> 0.80",
        "    rule value 0.8",
    ]


def test_explain_names_the_guardrail_that_stopped_it() -> None:
    """The outcome of a cooled-down entity names the cooldown."""
    result = runner.invoke(
        app,
        ["explain", "bleeding-keywords", "--entity", "k1", "--test",
         str(RULES / "bleeding-keywords.test.yaml"), "--case", "waits out the cooldown after any change"],
    )  # fmt: skip
    assert result.stdout.splitlines()[-1].startswith(
        "  stopped by cooldown: bid changed at 2024-06-19 12:00Z by external"
    )
