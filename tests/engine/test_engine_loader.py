"""Loading rule files: every problem reported with file:line:col, the committed schema in sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bidagent.engine import check_rule_set, load_rule_set
from bidagent.engine.schema import rule_file_schema
from bidagent.errors import RuleProblem, RuleSetError

RULES = Path(__file__).resolve().parents[2] / "rules"

BAD = """\
rules:
  - name: bleeding
    entity: keyword
    window: 14x
    when: clicks >= 15 and ordrs == 0
    then: { bid: "-20%" }
    colour: red
    then: { bid: bid * 0.8 }
"""


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_all_four_problems_reported_with_positions(tmp_path: Path) -> None:
    """A misspelt metric, a bad duration, a duplicate key and an unknown field are all reported."""
    path = _write(tmp_path, BAD)
    rule_set, problems = check_rule_set([tmp_path])
    f = str(path)
    assert rule_set is None
    assert sorted(problems, key=lambda p: p.line) == [
        RuleProblem(f, 4, 13, "window: bad duration '14x': expected a whole number and a unit d, h, m or s (e.g. '14d', '6h')", "bleeding"),
        RuleProblem(f, 5, 28, "when: unknown name 'ordrs' (did you mean 'orders'?)", "bleeding"),
        RuleProblem(f, 7, 5, "unknown field 'colour'", "bleeding"),
        RuleProblem(f, 8, 5, "duplicate key 'then'", "bleeding"),
    ]  # fmt: skip


def test_load_raises_with_every_problem(tmp_path: Path) -> None:
    """load_rule_set raises RuleSetError holding all the problems, not the first."""
    _write(tmp_path, BAD)
    with pytest.raises(RuleSetError) as info:
        load_rule_set([tmp_path])
    assert len(info.value.problems) == 4


def test_starter_pack_loads_clean() -> None:
    """The starter pack has no errors and no warnings."""
    rule_set, problems = check_rule_set([RULES])
    assert problems == []
    assert rule_set is not None
    assert len(rule_set.rules) == 13


def test_duplicate_rule_names_across_files(tmp_path: Path) -> None:
    """Rule names are unique across all files."""
    rule = "rules:\n  - {name: a, entity: campaign, when: clicks > 1, then: {state: paused}}\n"
    _write(tmp_path, rule, "one.yaml")
    _write(tmp_path, rule, "two.yaml")
    _, problems = check_rule_set([tmp_path])
    assert [p.message for p in problems] == [
        f"duplicate rule name (also in {tmp_path / 'one.yaml'})"
    ]


def test_names_that_do_not_fit_the_entity(tmp_path: Path) -> None:
    """A name of another entity and an action of another entity are load errors."""
    _write(
        tmp_path, "rules:\n  - {name: a, entity: campaign, when: bid > 1, then: {negate: exact}}\n"
    )
    _, problems = check_rule_set([tmp_path])
    assert [p.message for p in problems] == [
        "when: 'bid' is not known for campaign rules (it is a keyword attribute)",
        "then: 'negate' applies to search_term rules, not campaign",
    ]


def test_opposite_direction_warning(tmp_path: Path) -> None:
    """Two rules that can move the same bid up and down at one priority are warned about."""
    _write(
        tmp_path,
        "rules:\n"
        "  - {name: down, entity: keyword, when: clicks > 1, then: {bid: '-10%'}}\n"
        "  - {name: up, entity: target, when: orders > 1, then: {bid: bid * 1.1}}\n",
    )
    rule_set, problems = check_rule_set([tmp_path])
    assert rule_set is not None
    assert [(p.rule, p.severity) for p in problems] == [("up", "warning")]


def test_rule_set_hash_and_file_hash(tmp_path: Path) -> None:
    """The set hash changes with any file's content; each rule records its file and file hash."""
    path = _write(
        tmp_path,
        "rules:\n  - {name: a, entity: campaign, when: clicks > 1, then: {state: paused}}\n",
    )
    first = load_rule_set([tmp_path])
    path.write_text(path.read_text().replace("> 1", "> 2"))
    second = load_rule_set([tmp_path])
    assert first.hash != second.hash
    assert (second.rules[0].file, len(second.rules[0].file_hash)) == (str(path), 64)


def test_committed_schema_is_current() -> None:
    """rules/schema.json equals what `bidagent rules schema` generates."""
    committed = json.loads((RULES / "schema.json").read_text())
    assert committed == rule_file_schema()
