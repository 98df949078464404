"""Every starter rule test (rules/*.test.yaml) runs through the real engine under pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

from bidagent.engine.loader import find_rule_files, load_rule_set
from bidagent.engine.ruletests import RuleTestCase, load_test_file

RULES = Path(__file__).resolve().parents[2] / "rules"
CASES: list[RuleTestCase] = [
    c for f in sorted(RULES.glob("*.test.yaml")) for c in load_test_file(f)
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_starter_rule(case: RuleTestCase) -> None:
    """The case's expected changes and review items are exactly what the engine plans."""
    assert case.run() == []


def test_every_starter_rule_has_tests() -> None:
    """Each starter rule is exercised by at least one test case of its own file."""
    tested = {c.file.name.removesuffix(".test.yaml") for c in CASES}
    rules = {r.name for r in load_rule_set([RULES]).rules}
    assert rules <= tested
    assert {p.stem for p in find_rule_files([RULES])} == tested


def test_every_starter_file_declares_the_schema() -> None:
    """Editors find the schema through the first line of every starter rule file."""
    first_lines = {p.read_text().splitlines()[0] for p in find_rule_files([RULES])}
    assert first_lines == {"# yaml-language-server: $schema=./schema.json"}
